"""Reserving stock for demand: allocate (through the router), release, consume.

Concurrency (DESIGN.md section 6): each reservation is one conditional statement,
`UPDATE ... SET reserved = reserved + q WHERE id = ? AND on_hand - reserved - safety >= q`,
so stock can never be promised twice, and the statements of one allocation run in
stock-level id order, so two multi-SKU orders never wait on each other in a cycle.

The row lock that UPDATE takes is held until COMMIT, and every client of a best-selling
SKU queues on it; so nothing runs in between but the reservation INSERT (on PostgreSQL
the same statement) and a stock.low check on numbers the UPDATE returned.
bench/bench_reservations.py measures it against a bare-SQL floor.
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import F, Sum
from django.utils import timezone

from inventory.models import Location, Product, Reservation, StockLevel, StockMovement
from inventory.routing import Candidate, Plan, Router, RoutingRequest, get_router
from inventory.services.stock import emit_if_low, lock_stock_levels
from inventory.signals import announce_available
from oms.core.exceptions import InsufficientStock, ValidationFailed

Active = Reservation.State.ACTIVE
MAX_ATTEMPTS = 3  # re-plans when stock moved between the snapshot and the reserve


@dataclass(frozen=True)
class DemandLine:
    """What one line needs: `demand` is the record the stock is held for (an order line)."""

    product_id: int
    quantity: int
    demand: models.Model
    reference: str = ""


@dataclass
class Allocation:
    reservations: list[Reservation] = field(default_factory=list)
    short: dict[int, int] = field(default_factory=dict)  # line index -> units not reserved
    reason: str = ""
    considered: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.short


class _Raced(Exception):
    """The snapshot was stale: a conditional reserve found less than planned."""


def _is_count(value) -> bool:
    """A whole number of units: an int, and not a bool (True would pass for 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


# The hot path speaks SQL. Building these statements with the ORM cost more CPU than
# running them (about 0.5 ms a call each for the candidates query and the reservation
# insert, measured by bench/bench_reservations.py); under load that CPU is spent while
# the process's other clients wait for the GIL, and the insert's share of it while the
# hot stock level is row-locked.
_LEVEL = StockLevel._meta.db_table
_LOCATION = Location._meta.db_table
_RESERVATION = Reservation._meta.db_table

_CANDIDATES_SQL = (
    "SELECT sl.id, sl.product_id, sl.on_hand - sl.reserved - sl.safety_stock, "
    "loc.id, loc.code, loc.priority, loc.country, loc.channel_codes "
    f"FROM {_LEVEL} sl INNER JOIN {_LOCATION} loc ON loc.id = sl.location_id "
    "WHERE loc.active AND loc.fulfils_orders AND sl.product_id IN ({ids})"
)

_RESERVE_SQL = (
    f"UPDATE {_LEVEL} SET reserved = reserved + %s "
    "WHERE id = %s AND on_hand - reserved - safety_stock >= %s "
    "RETURNING on_hand - reserved - safety_stock, reorder_point"
)

# PostgreSQL: both in one statement (a data-modifying CTE); no row when not enough.
_HOLD_SQL = (
    f"WITH level AS (UPDATE {_LEVEL} SET reserved = reserved + %s "
    "WHERE id = %s AND on_hand - reserved - safety_stock >= %s "
    "RETURNING id, on_hand - reserved - safety_stock AS available, reorder_point), "
    f"held AS (INSERT INTO {_RESERVATION} "
    "(stock_level_id, demand_type_id, demand_id, quantity, state, reference, created_at) "
    "SELECT id, %s, %s, %s, %s, %s, %s FROM level RETURNING id) "
    "SELECT held.id, level.available, level.reorder_point FROM level, held"
)

_INSERT_SQL = (
    f"INSERT INTO {_RESERVATION} "
    "(stock_level_id, demand_type_id, demand_id, quantity, state, reference, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"
)


def _candidates(product_ids: set[int], channel_code: str | None) -> tuple[Candidate, ...]:
    """A snapshot (no locks) of what each fulfilling location can give per product."""
    ids = sorted(product_ids)
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL.format(ids=", ".join(["%s"] * len(ids))), ids)
        rows = cursor.fetchall()
    by_location: dict[int, Candidate] = {}
    for level_id, product_id, free, loc_id, code, priority, country, channels in rows:
        if channel_code:
            channels = json.loads(channels) if isinstance(channels, str) else channels
            if channels and channel_code not in channels:
                continue
        candidate = by_location.get(loc_id)
        if candidate is None:
            candidate = by_location[loc_id] = Candidate(loc_id, code, priority, country, {}, {})
        candidate.available[product_id] = max(free, 0)
        candidate.stock_level_ids[product_id] = level_id
    return tuple(by_location.values())


def _hold(cursor, level_id: int, quantity: int, record: tuple) -> int | None:
    """Reserve `quantity` at a stock level if it has that many free, and write the
    reservation row; return its id, or None (nothing changed) when the units are not
    there. The conditional UPDATE is what makes overselling impossible. On PostgreSQL
    the UPDATE and the INSERT are one statement: one round trip while the row is locked.
    """
    type_id, demand_id, reference, created_at = record
    if connection.vendor == "postgresql":
        held = [type_id, demand_id, quantity, Active, reference, created_at]
        cursor.execute(_HOLD_SQL, [quantity, level_id, quantity, *held])
        row = cursor.fetchone()
        if row is None:
            return None
        pk, available_after, reorder_point = row
    else:
        cursor.execute(_RESERVE_SQL, [quantity, level_id, quantity])
        row = cursor.fetchone()
        if row is None:
            return None
        available_after, reorder_point = row
        cursor.execute(
            _INSERT_SQL, [level_id, type_id, demand_id, quantity, Active, reference, created_at]
        )
        (pk,) = cursor.fetchone()
    emit_if_low(
        level_id=level_id,
        available_before=available_after + quantity,
        available_after=available_after,
        reorder_point=reorder_point,
    )
    return pk


def _hold_up_to(cursor, level_id: int, quantity: int, record: tuple) -> tuple[int | None, int]:
    """Partial mode: take what the level has, up to `quantity` (locking it to see)."""
    pk = _hold(cursor, level_id, quantity, record)
    if pk is not None:
        return pk, quantity
    level = lock_stock_levels([level_id])[level_id]
    take = min(quantity, level.on_hand - level.reserved - level.safety_stock)
    if take <= 0:
        return None, 0
    pk = _hold(cursor, level_id, take, record)
    return (pk, take) if pk is not None else (None, 0)


@dataclass(frozen=True)
class _Grant:
    pk: int
    level_id: int
    index: int
    quantity: int


def _execute(
    plan: Plan, request: RoutingRequest, lines: Sequence[DemandLine], partial: bool, now
) -> list[_Grant]:
    """Reserve the plan's picks in stock-level id order, a reservation row for each.
    Raises _Raced (all-or-nothing) when a pick no longer fits."""
    level_of = {
        (c.location_id, product_id): level_id
        for c in request.candidates
        for product_id, level_id in c.stock_level_ids.items()
    }
    picks = sorted(
        ((level_of[(loc, lines[i].product_id)], i, qty) for i, loc, qty in plan.picks if qty > 0),
        key=lambda pick: pick[0],
    )
    # Everything the inserts need is ready before the first row is locked.
    created_at = connection.ops.adapt_datetimefield_value(now)
    records = [
        (
            ContentType.objects.get_for_model(line.demand).pk,
            line.demand.pk,
            line.reference,
            created_at,
        )
        for line in lines
    ]
    granted: list[_Grant] = []
    with connection.cursor() as cursor:
        for level_id, index, quantity in picks:
            if partial:
                pk, got = _hold_up_to(cursor, level_id, quantity, records[index])
            else:
                pk, got = _hold(cursor, level_id, quantity, records[index]), quantity
                if pk is None:
                    raise _Raced
            if pk is not None:
                granted.append(_Grant(pk, level_id, index, got))
    return granted


def _allocation(granted: list[_Grant], lines: Sequence[DemandLine], plan: Plan, now) -> Allocation:
    reservations = []
    for grant in granted:
        line = lines[grant.index]
        reservation = Reservation(
            pk=grant.pk,
            stock_level_id=grant.level_id,
            demand_type=ContentType.objects.get_for_model(line.demand),
            demand_id=line.demand.pk,
            quantity=grant.quantity,
            state=Active,
            reference=line.reference,
            created_at=now,
        )
        reservation._state.adding = False  # saved: it came back from the INSERT
        reservation._state.db = connection.alias
        reservations.append(reservation)
    got_per_line: dict[int, int] = defaultdict(int)
    for grant in granted:
        got_per_line[grant.index] += grant.quantity
    short = {
        i: line.quantity - got_per_line[i]
        for i, line in enumerate(lines)
        if got_per_line[i] < line.quantity
    }
    return Allocation(reservations, short, plan.reason, plan.considered)


def _check_lines(lines: Sequence[DemandLine]) -> None:
    if not lines:
        raise ValidationFailed({"lines": ["At least one line is required."]})
    errors = []
    for line in lines:
        problems = {}
        if not _is_count(line.product_id):
            problems["product_id"] = [f"{line.product_id!r} is not a product id."]
        if not _is_count(line.quantity) or line.quantity <= 0:
            problems["quantity"] = [f"{line.quantity!r}: a whole number, 1 or more, is required."]
        if getattr(line.demand, "pk", None) is None:
            problems["demand"] = ["Save the demand record first: stock is held for a record."]
        errors.append(problems)
    if any(errors):
        raise ValidationFailed({"lines": errors})


def _check_products_exist(lines: Sequence[DemandLine], candidates: tuple[Candidate, ...]) -> None:
    """A product with no stock level anywhere may be unknown: say so, rather than that
    it is out of stock. (Costs a query only when a line's product has no stock level.)"""
    stocked = {product_id for c in candidates for product_id in c.stock_level_ids}
    missing = {line.product_id for line in lines} - stocked
    if not missing:
        return
    unknown = missing - set(Product.objects.filter(pk__in=missing).values_list("pk", flat=True))
    if unknown:
        raise ValidationFailed(
            {
                "lines": [
                    {"product_id": [f"No product with id {line.product_id}."]}
                    if line.product_id in unknown
                    else {}
                    for line in lines
                ]
            }
        )


def _refuse_short(lines: Sequence[DemandLine], plan: Plan, short: dict[int, int]) -> NoReturn:
    skus = dict(
        Product.objects.filter(pk__in={lines[i].product_id for i in short}).values_list("pk", "sku")
    )
    detail = ", ".join(f"{skus[lines[i].product_id]} short {q}" for i, q in short.items())
    raise InsufficientStock(
        f"Not enough stock for {detail}: {plan.reason}.",
        short={lines[i].reference or str(i): q for i, q in short.items()},
        skus=sorted({skus[lines[i].product_id] for i in short}),
        considered=plan.considered,
    )


def stock_allocate(
    *,
    lines: Sequence[DemandLine],
    destination_country: str = "",
    destination_postcode: str = "",
    policy: str = "fastest",
    allow_split: bool = False,
    partial: bool = False,
    channel_code: str | None = None,
    router: Router | None = None,
) -> Allocation:
    """Reserve stock for demand lines where the router says.

    All-or-nothing (default): every line fully reserved, or InsufficientStock and nothing
    reserved. Partial: reserve what there is; `Allocation.short` says what waits.

    On the hot path (one line, stock available) this is the snapshot SELECT (outside the
    transaction), then one statement that reserves and writes the reservation row (two on
    SQLite), then COMMIT: the row lock is held only for that statement and the commit.
    """
    _check_lines(lines)
    router = router or get_router()
    product_ids = {line.product_id for line in lines}
    for attempt in range(1, MAX_ATTEMPTS + 1):
        request = RoutingRequest(
            lines=tuple((line.product_id, line.quantity) for line in lines),
            candidates=_candidates(product_ids, channel_code),
            destination_country=destination_country,
            destination_postcode=destination_postcode,
            policy=policy,
            allow_split=allow_split,
        )
        if attempt == 1:
            _check_products_exist(lines, request.candidates)
        plan = router.plan(request)
        short = plan.short(request)
        if short and not partial:
            _refuse_short(lines, plan, short)
        now = timezone.now()
        try:
            with transaction.atomic():
                granted = _execute(plan, request, lines, partial, now)
        except _Raced:
            if attempt == MAX_ATTEMPTS:
                raise InsufficientStock(
                    "Stock changed while reserving; not enough left.", considered=plan.considered
                ) from None
            continue
        return _allocation(granted, lines, plan, now)
    raise AssertionError("unreachable")


def _demand_filter(demands: Sequence[models.Model]) -> models.Q:
    q = models.Q(pk__in=[])
    by_type: dict[int, list[int]] = defaultdict(list)
    for demand in demands:
        by_type[ContentType.objects.get_for_model(demand).pk].append(demand.pk)
    for type_id, ids in by_type.items():
        q |= models.Q(demand_type_id=type_id, demand_id__in=ids)
    return q


def _lock_active(
    demands: Sequence[models.Model], location_id: int | None = None
) -> list[Reservation]:
    # Lock the stock levels first (pk order), then the reservations: the same order the
    # allocate path takes rows in, so release never deadlocks against allocation.
    active = Reservation.objects.filter(_demand_filter(demands), state=Active)
    if location_id is not None:
        active = active.filter(stock_level__location_id=location_id)
    lock_stock_levels(active.values_list("stock_level_id", flat=True))
    return list(active.select_for_update().order_by("stock_level_id", "pk"))


@transaction.atomic
def stock_release(*, demands: Sequence[models.Model], quantity: int | None = None) -> int:
    """Give back what is held for these demands: all of it, or `quantity` units (newest
    reservations first; for one demand). Returns the units released."""
    if quantity is not None and (len(demands) != 1 or not _is_count(quantity) or quantity <= 0):
        raise ValidationFailed(
            {"quantity": ["A partial release is for one demand, 1 or more units."]}
        )
    reservations = _lock_active(demands)
    remaining = quantity if quantity is not None else sum(r.quantity for r in reservations)
    per_level: dict[int, int] = defaultdict(int)
    now = timezone.now()
    for reservation in sorted(reservations, key=lambda r: -r.pk):
        if remaining == 0:
            break
        take = min(reservation.quantity, remaining)
        _close(reservation, take, Reservation.State.RELEASED, now)
        per_level[reservation.stock_level_id] += take
        remaining -= take
    if quantity is not None and remaining:
        raise ValidationFailed({"quantity": [f"Only {quantity - remaining} units are reserved."]})
    for level_id, units in sorted(per_level.items()):
        StockLevel.objects.filter(pk=level_id).update(reserved=F("reserved") - units)
    for location_id, product_id in StockLevel.objects.filter(pk__in=per_level).values_list(
        "location_id", "product_id"
    ):
        announce_available(product_ids=[product_id], location_id=location_id)
    return sum(per_level.values())


def _close(reservation: Reservation, quantity: int, state: str, now) -> None:
    """Close `quantity` of a reservation; a remainder stays active as its own row."""
    if quantity < reservation.quantity:
        Reservation.objects.create(
            stock_level_id=reservation.stock_level_id,
            demand_type_id=reservation.demand_type_id,
            demand_id=reservation.demand_id,
            quantity=quantity,
            state=state,
            reference=reservation.reference,
            created_at=reservation.created_at,
            closed_at=now,
        )
        Reservation.objects.filter(pk=reservation.pk).update(quantity=F("quantity") - quantity)
    else:
        Reservation.objects.filter(pk=reservation.pk).update(state=state, closed_at=now)


@transaction.atomic
def stock_consume(
    *,
    demand: models.Model,
    quantity: int,
    location_id: int | None = None,
    reference: str = "",
    actor=None,
) -> list[StockMovement]:
    """Stock leaves with a shipment: the reservation becomes consumed, on_hand and reserved
    fall together, and the ledger records the shipment."""
    if not _is_count(quantity) or quantity <= 0:
        raise ValidationFailed({"quantity": [f"{quantity!r}: a whole number, 1 or more."]})
    reservations = _lock_active([demand], location_id)
    held = sum(r.quantity for r in reservations)
    if held < quantity:
        raise InsufficientStock(
            f"Only {held} units are reserved for this line; {quantity} asked.", reserved=held
        )
    now = timezone.now()
    remaining = quantity
    per_level: dict[int, int] = defaultdict(int)
    for reservation in reservations:
        if remaining == 0:
            break
        take = min(reservation.quantity, remaining)
        _close(reservation, take, Reservation.State.CONSUMED, now)
        per_level[reservation.stock_level_id] += take
        remaining -= take
    movements = []
    for level_id, units in sorted(per_level.items()):
        StockLevel.objects.filter(pk=level_id).update(
            reserved=F("reserved") - units, on_hand=F("on_hand") - units
        )
        on_hand_after = (
            StockLevel.objects.filter(pk=level_id).values_list("on_hand", flat=True).get()
        )
        movements.append(
            StockMovement(
                stock_level_id=level_id,
                quantity=-units,
                on_hand_after=on_hand_after,
                reason=StockMovement.Reason.SHIPMENT,
                reference=reference,
                actor=actor,
                at=now,
            )
        )
    return StockMovement.objects.bulk_create(movements)


def reserved_for(demands: Sequence[models.Model]) -> int:
    return Reservation.objects.filter(_demand_filter(demands), state=Active).aggregate(
        total=Sum("quantity", default=0)
    )["total"]
