"""emit(): an outbox row written in the transaction of the change it reports."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from oms.core.models import OutboxEvent
from oms.core.outbox import TOPICS, emit
from tests.factories import ProductFactory


@pytest.mark.django_db
def test_emit_writes_a_pending_row_with_a_json_safe_payload():
    product = ProductFactory(sku="WIDGET-RED")
    at = datetime.datetime(2026, 11, 20, 14, 3, tzinfo=datetime.UTC)
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")

    with transaction.atomic():
        event = emit(
            "stock.low",
            {
                "sku": product.sku,
                "available": 3,
                "value": Decimal("19.90"),
                "at": at,
                "on": datetime.date(2026, 11, 20),
                "key": key,
                "lines": [{"price": Decimal("9.99")}],
            },
            about=product,
        )

    stored = OutboxEvent.objects.get(pk=event.pk)
    assert stored.topic == "stock.low"
    assert stored.status == OutboxEvent.Status.PENDING
    assert stored.attempts == 0
    assert stored.sent_at is None
    assert stored.payload == {
        "sku": "WIDGET-RED",
        "available": 3,
        "value": "19.90",
        "at": "2026-11-20T14:03:00Z",
        "on": "2026-11-20",
        "key": "12345678-1234-5678-1234-567812345678",
        "lines": [{"price": "9.99"}],
    }
    assert stored.aggregate_type == "inventory.product"
    assert stored.aggregate_id == str(product.pk)


@pytest.mark.django_db
def test_emit_without_an_aggregate_leaves_the_link_empty():
    with transaction.atomic():
        event = emit("order.created", {"number": "SO-1"})

    event.refresh_from_db()
    assert (event.aggregate_type, event.aggregate_id) == ("", "")


@pytest.mark.django_db
def test_emit_does_not_change_the_callers_payload():
    payload = {"value": Decimal("1.50")}

    with transaction.atomic():
        emit("refund.issued", payload)

    assert payload == {"value": Decimal("1.50")}


@pytest.mark.django_db
def test_every_documented_topic_is_accepted():
    # API.md "Webhooks out" lists these; subscribers build on the names.
    assert {
        "order.created",
        "order.status_changed",
        "shipment.shipped",
        "shipment.delivered",
        "return.received",
        "refund.issued",
        "stock.low",
    } == TOPICS
    with transaction.atomic():
        for topic in sorted(TOPICS):
            emit(topic, {})
    assert OutboxEvent.objects.count() == len(TOPICS)


@pytest.mark.django_db
def test_an_unknown_topic_raises_value_error():
    with transaction.atomic(), pytest.raises(ValueError, match=r"order\.shiped"):
        emit("order.shiped", {})
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_a_payload_json_cannot_encode_is_refused():
    with transaction.atomic(), pytest.raises(TypeError):
        emit("order.created", {"blob": object()})
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_emit_outside_a_transaction_raises_runtime_error():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        emit("order.created", {"number": "SO-1"})
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_rollback_of_the_surrounding_transaction_leaves_no_row():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        emit("order.created", {"number": "SO-1"})
        assert OutboxEvent.objects.count() == 1
        raise Boom

    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_commit_of_the_surrounding_transaction_keeps_the_row():
    with transaction.atomic():
        emit("order.created", {"number": "SO-1"})

    assert OutboxEvent.objects.get().payload == {"number": "SO-1"}


@pytest.mark.django_db
def test_rollback_of_a_savepoint_drops_only_its_events():
    with transaction.atomic():
        emit("order.created", {"number": "SO-1"})
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            emit("order.created", {"number": "SO-2"})
            1 / 0  # noqa: B018

    assert list(OutboxEvent.objects.values_list("payload", flat=True)) == [{"number": "SO-1"}]
