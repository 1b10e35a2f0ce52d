"""oms.core.fastsql: instances read back as the ORM reads them; long statements."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Product
from oms.core import fastsql
from orders.models import Channel, Customer, Order
from tests.factories import captured_order

pytestmark = pytest.mark.django_db


def test_select_converts_values_as_the_orm_does():
    made = captured_order(placed_at="2026-11-20T14:03:00Z")
    placed = datetime.datetime(2026, 11, 20, 14, 3, tzinfo=datetime.UTC)

    (order,) = fastsql.select(Order, "id = %s", [made.pk])
    orm = Order.objects.get(pk=made.pk)

    # SQLite hands back text for both: the backend's converters make them these types.
    assert order.placed_at == placed and timezone.is_aware(order.placed_at)
    assert order.subtotal == Decimal("19.98") and isinstance(order.subtotal, Decimal)
    assert order.ship_country == orm.ship_country
    for field in Order._meta.concrete_fields:
        assert getattr(order, field.attname) == getattr(orm, field.attname), field.name


def test_native_placeholders_keep_literal_percent_signs():
    sql = fastsql._native("SELECT %s, '100%%', %b::int[] WHERE x LIKE 'a%%' AND y = %s")

    assert sql == "SELECT $1, '100%', $2::int[] WHERE x LIKE 'a%' AND y = $3"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side binding is PostgreSQL's")
def test_a_statement_over_psycopgs_cache_limits_runs_with_its_values():
    values = list(range(60))  # over the 50 values psycopg caches its own conversion for
    sql = "SELECT " + ", ".join(["%s::int"] * len(values)) + ", '5%%'"

    with fastsql.cursor(len(values)) as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()

    assert list(row) == [*values, "5%"]


def test_select_many_reads_several_models_in_one_statement():
    order = captured_order()
    channel, product = order.channel, order.lines.get().product
    queries = [
        (Channel, "code = %s", [channel.code]),
        None,
        (Product, "sku IN (%s, %s)", [product.sku, "NO-SUCH-SKU"]),
        (Order, "external_ref = %s", [order.external_ref]),
        (Customer, "email = %s", ["nobody@example.com"]),
    ]

    with CaptureQueriesContext(connection) as statements:
        found = fastsql.select_many(queries)

    assert [[type(obj) for obj in objs] for objs in found] == [
        [Channel],
        [],
        [Product],
        [Order],
        [],
    ]
    assert found[0][0].pk == channel.pk and found[2][0].sku == product.sku
    (read,) = found[3]
    for field in Order._meta.concrete_fields:  # types as the ORM gives them
        assert getattr(read, field.attname) == getattr(order, field.attname), field.name
    assert len(statements) == (1 if connection.vendor == "postgresql" else 4)


def test_select_many_with_one_query_is_select():
    order = captured_order()

    (found,) = fastsql.select_many([(Order, "id = %s", [order.pk])])

    assert [o.pk for o in found] == [order.pk]
