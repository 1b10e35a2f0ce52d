"""Gap-free order numbers, handed out at the last moment of a capture.

SO-<year>-<n> must have no gaps, so a number is taken inside the capture's transaction
under the year's counter row lock, and a rollback gives it back. Every capture queues on
that row until its COMMIT: the less it does after taking it, the more captures per second.
So a capture writes its rows under a placeholder number (unique, never committed, never
seen by another transaction) and the last statement before COMMIT takes the numbers and
puts them everywhere the placeholder went: the order, its history row, its reservations'
references and its outbox payloads. On PostgreSQL that is one statement (data-modifying
CTEs), so the lock is held for one round trip and the COMMIT.
"""

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

# PostgreSQL: take the numbers and replace every placeholder, in one statement.
_NUMS_MANY = """
    SELECT t.id, t.placeholder,
           %s::text || lpad((seq.last - %s + t.n)::text, 6, '0') AS number
    FROM seq, unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS t(id, placeholder, n)
"""
# One order (the API, the phone form): scalars, not arrays, so that the prepared
# statement's generic plan is as cheap as a custom one and PostgreSQL keeps it instead of
# planning the statement again at every capture (measured: about 0.45 ms of its CPU).
_NUMS_ONE = """
    SELECT %s::bigint AS id, %s::text AS placeholder,
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
outbox AS (
    UPDATE {_OUTBOX} e SET payload = jsonb_set(e.payload, '{{number}}', to_jsonb(nums.number))
    FROM nums WHERE e.id = ANY(%s::bigint[]) AND e.payload->>'number' = nums.placeholder
    RETURNING e.id
)
SELECT nums.id, nums.number FROM nums
"""  # PostgreSQL runs every data-modifying CTE to completion, read or not
_NUMBER_MANY = _NUMBER_ALL.replace("{nums}", _NUMS_MANY)
_NUMBER_ONE = _NUMBER_ALL.replace("{nums}", _NUMS_ONE)


def take_order_numbers(count: int) -> list[str]:
    """`count` consecutive numbers (locks the year's counter until the transaction ends)."""
    year, prefix = _prefix()
    with fastsql.cursor() as cursor:
        cursor.execute(_TAKE, [year, count])
        (last,) = cursor.fetchone()
    return [f"{prefix}{n:06d}" for n in range(last - count + 1, last + 1)]


def number_orders(orders: list[Order], *, reservation_ids: list[int], outbox_ids: list[int]):
    """Give `orders` (saved under placeholders, in this transaction) their numbers, in
    list order, everywhere the placeholders were written; set them on the instances."""
    year, prefix = _prefix()
    ids = [order.pk for order in orders]
    placeholders = [order.number for order in orders]
    if connection.vendor == "postgresql":
        if len(orders) == 1:
            sql, nums = _NUMBER_ONE, [ids[0], placeholders[0], prefix]
        else:
            sql, nums = _NUMBER_MANY, [prefix, len(orders), ids, placeholders]
        with fastsql.cursor() as cursor:
            cursor.execute(sql, [year, len(orders), *nums, reservation_ids, outbox_ids])
            numbers = dict(cursor.fetchall())
    else:
        numbers = dict(zip(ids, take_order_numbers(len(orders)), strict=True))
        _replace_one_by_one(numbers, dict(zip(ids, placeholders, strict=True)))
    for order in orders:
        order.number = numbers[order.pk]


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
        cursor.executemany(
            f"UPDATE {_OUTBOX} SET payload = json_set(payload, '$.number', %s) "
            "WHERE json_extract(payload, '$.number') = %s",
            rows,
        )
