"""Gap-free order numbers, handed out at the last moment of a capture.

SO-<year>-<n> must have no gaps, so a number is taken inside the capture's transaction
under the year's counter row lock, and a rollback gives it back. Every capture queues on
that row until its COMMIT: the less it does after taking it, the more captures per second.
So a capture writes its rows under a placeholder number (unique, never committed, never
seen by another transaction) and the last statement before COMMIT takes the numbers and
puts them everywhere the placeholder went (the order, its history row, its reservations'
references) and writes the outbox rows with them. On PostgreSQL that is one statement
(data-modifying CTEs), so the lock is held for one round trip and the COMMIT.
"""

import functools
import uuid

from django.db import connection
from django.utils import timezone

from inventory.models import Reservation
from oms.core import fastsql
from oms.core.models import OutboxEvent
from orders.models import Order, OrderSequence

PLACEHOLDER_LENGTH = 20  # Order.number's width: a placeholder fills it exactly


def placeholder() -> str:
    return "~" + uuid.uuid4().hex[: PLACEHOLDER_LENGTH - 1]


def _prefix() -> tuple[int, str]:
    year = timezone.localdate().year
    return year, f"SO-{year}-"


_SEQUENCE = OrderSequence._meta.db_table
_ORDER = Order._meta.db_table
_HISTORY = Order.history.model._meta.db_table
_RESERVATION = Reservation._meta.db_table
_OUTBOX = OutboxEvent._meta.db_table

_TAKE = (
    f"INSERT INTO {_SEQUENCE} (year, last) VALUES (%s, %s) ON CONFLICT (year) "
    f"DO UPDATE SET last = {_SEQUENCE}.last + EXCLUDED.last RETURNING last"
)

# PostgreSQL: take the numbers, replace every placeholder and write the outbox rows with
# their numbers, in one statement. (`n`: the order's place in the list.)
_NUMS_MANY = """
    SELECT t.id, t.placeholder, t.n,
           %s::text || lpad((seq.last - %s + t.n)::text, 6, '0') AS number
    FROM seq, unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS t(id, placeholder, n)
"""
# One order (the API, the phone form): scalars, not arrays, so that the prepared
# statement's generic plan is as cheap as a custom one and PostgreSQL keeps it instead of
# planning the statement again at every capture (measured: about 0.45 ms of its CPU).
_NUMS_ONE = """
    SELECT %s::bigint AS id, %s::text AS placeholder, 1 AS n,
           %s::text || lpad(seq.last::text, 6, '0') AS number
    FROM seq
"""
_NUMBER_ALL = f"""
WITH seq AS ({_TAKE}),
nums AS ({{nums}}),
orders AS (
    UPDATE {_ORDER} o SET number = nums.number FROM nums WHERE o.id = nums.id RETURNING o.id
),
history AS (
    UPDATE {_HISTORY} h SET number = nums.number FROM nums
    WHERE h.id = nums.id AND h.number = nums.placeholder RETURNING h.id
),
reservations AS (
    UPDATE {_RESERVATION} r SET reference = nums.number || substr(r.reference, {PLACEHOLDER_LENGTH + 1})
    FROM nums WHERE r.id = ANY(%s::bigint[]) AND left(r.reference, {PLACEHOLDER_LENGTH}) = nums.placeholder
    RETURNING r.id
),
outbox AS ({{outbox}})
SELECT nums.id, nums.number, (SELECT count(*) FROM outbox) FROM nums
"""  # PostgreSQL runs every data-modifying CTE to completion, read or not


@functools.cache
def _number_sql(many: bool) -> str:
    """The outbox rows go in here, not under placeholders earlier: an UPDATE of them by id
    would be planned once per connection, on a generic plan chosen while the table was
    small (seen: a sequential scan of the whole outbox at every capture)."""
    fields = fastsql.insert_fields(OutboxEvent)
    names = [f"c{i}" for i in range(len(fields))]
    values = [
        f"jsonb_set(u.{name}, '{{number}}', to_jsonb(nums.number))"
        if field.attname == "payload"
        else f"u.{name}"
        for name, field in zip(names, fields, strict=True)
    ]
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    outbox = (
        f"INSERT INTO {_OUTBOX} ({', '.join(connection.ops.quote_name(f.column) for f in fields)}) "
        f"SELECT {', '.join(values)} FROM unnest({arrays}, %s::int[]) AS u({', '.join(names)}, k) "
        "JOIN nums ON nums.n = u.k RETURNING id"
    )
    return _NUMBER_ALL.replace("{nums}", _NUMS_MANY if many else _NUMS_ONE).replace(
        "{outbox}", outbox
    )


def take_order_numbers(count: int) -> list[str]:
    """`count` consecutive numbers (locks the year's counter until the transaction ends)."""
    year, prefix = _prefix()
    with fastsql.cursor() as cursor:
        cursor.execute(_TAKE, [year, count])
        (last,) = cursor.fetchone()
    return [f"{prefix}{n:06d}" for n in range(last - count + 1, last + 1)]


def number_orders(
    orders: list[Order], *, reservation_ids: list[int], outbox: list[OutboxEvent]
) -> None:
    """Give `orders` (saved under placeholders, in this transaction) their numbers, in
    list order, everywhere the placeholders were written; set them on the instances.
    Write `outbox` (unsaved rows about these orders, each payload's "number" one of
    their placeholders) with the numbers in place."""
    year, prefix = _prefix()
    ids = [order.pk for order in orders]
    placeholders = [order.number for order in orders]
    place = {placeholder: n for n, placeholder in enumerate(placeholders, start=1)}
    if connection.vendor == "postgresql":
        if len(orders) == 1:
            nums = [ids[0], placeholders[0], prefix]
        else:
            nums = [prefix, len(orders), ids, placeholders]
        rows = fastsql.rows(outbox)
        written = [
            *(fastsql.columns(rows) if rows else [[] for _ in fastsql.insert_fields(OutboxEvent)]),
            [place[event.payload["number"]] for event in outbox],
        ]
        with fastsql.cursor() as cursor:
            cursor.execute(
                _number_sql(len(orders) > 1),
                [year, len(orders), *nums, reservation_ids, *written],
            )
            found = cursor.fetchall()
        if found[0][2] != len(outbox):
            raise RuntimeError(f"number_orders: {found[0][2]} of {len(outbox)} outbox rows")
        numbers = {pk: number for pk, number, _ in found}
    else:
        numbers = dict(zip(ids, take_order_numbers(len(orders)), strict=True))
        _replace_one_by_one(numbers, dict(zip(ids, placeholders, strict=True)))
    for order in orders:
        order.number = numbers[order.pk]
    for event in outbox:
        event.payload["number"] = orders[place[event.payload["number"]] - 1].number
    if connection.vendor != "postgresql":
        fastsql.insert(outbox)


def _replace_one_by_one(numbers: dict[int, str], placeholders: dict[int, str]) -> None:
    """The same replacements, a statement per table (SQLite: one writer at a time)."""
    rows = [(numbers[pk], placeholders[pk]) for pk in numbers]
    width = PLACEHOLDER_LENGTH
    with fastsql.cursor() as cursor:
        cursor.executemany(f"UPDATE {_ORDER} SET number = %s WHERE number = %s", rows)
        cursor.executemany(f"UPDATE {_HISTORY} SET number = %s WHERE number = %s", rows)
        cursor.executemany(
            f"UPDATE {_RESERVATION} SET reference = %s || substr(reference, {width + 1}) "
            f"WHERE substr(reference, 1, {width}) = %s",
            rows,
        )
