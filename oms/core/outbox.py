"""emit(): record an event that leaves the system, inside the caller's transaction."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

from oms.core.fastsql import insert
from oms.core.models import OutboxEvent

# The topics of ../shared/API.md ("Webhooks out"); an unknown topic is a programming error.
TOPICS = frozenset(
    {
        "order.created",
        "order.status_changed",
        "shipment.shipped",
        "shipment.delivered",
        "return.received",
        "refund.issued",
        "stock.low",
    }
)


def outbox_event(
    topic: str, payload: dict[str, Any], *, about: models.Model | None = None
) -> OutboxEvent:
    """An unsaved outbox row (for `emit_many`)."""
    if topic not in TOPICS:
        raise ValueError(f"Unknown outbox topic {topic!r}; known: {sorted(TOPICS)}")
    # Round-trip through the JSON encoder so Decimals, dates and UUIDs are stored as text.
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return OutboxEvent(
        topic=topic,
        payload=payload,
        aggregate_type=about._meta.label_lower if about is not None else "",
        aggregate_id=str(about.pk) if about is not None else "",
    )


def _check_atomic() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("emit() must run inside the transaction of the change it reports")


def emit(topic: str, payload: dict[str, Any], *, about: models.Model | None = None) -> OutboxEvent:
    """Write one outbox row. Call it inside the service's transaction.atomic block, so the
    event exists exactly when the change it describes was committed."""
    event = outbox_event(topic, payload, about=about)
    _check_atomic()
    event.save()
    return event


def emit_many(events: list[OutboxEvent]) -> None:
    """Write many `outbox_event` rows with one INSERT, under the same rule as emit()."""
    if events:
        _check_atomic()
        insert(events)
