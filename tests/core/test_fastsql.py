"""oms.core.fastsql: instances read back as the ORM reads them; long statements."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from oms.core import fastsql
from orders.models import Order
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
