"""Reserving stock for demand: allocate (through the router), release, consume.

Concurrency (DESIGN.md section 6): each reservation is one conditional statement,
`UPDATE ... SET reserved = reserved + q WHERE id = ? AND on_hand - reserved - safety >= q`,
so stock can never be promised twice, and the statements of one allocation run in
stock-level id order, so two multi-SKU orders never wait on each other in a cycle.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import F, Sum
from django.utils import timezone

from inventory.models import Reservation, StockLevel, StockMovement
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


def _candidates(product_ids: set[int], channel_code: str | None) -> tuple[Candidate, ...]:
    rows = (
        StockLevel.objects.filter(
            product_id__in=product_ids, location__active=True, location__fulfils_orders=True
        )
        .values_list(
            "pk",
            "product_id",
            "on_hand",
            "reserved",
            "safety_stock",
            "location_id",
            "location__code",
            "location__priority",
            "location__country",
            "location__channel_codes",
        )
        .order_by()
    )
    by_location: dict[int, dict] = {}
    for (
        pk,
        product_id,
        on_hand,
        reserved,
        safety,
        loc_id,
        code,
        priority,
        country,
        channels,
    ) in rows:
        if channel_code and channels and channel_code not in channels:
            continue
        entry = by_location.setdefault(
            loc_id,
            {"code": code, "priority": priority, "country": country, "available": {}, "ids": {}},
        )
        entry["available"][product_id] = max(on_hand - reserved - safety, 0)
        entry["ids"][product_id] = pk
    return tuple(
        Candidate(loc_id, e["code"], e["priority"], e["country"], e["available"], e["ids"])
        for loc_id, e in by_location.items()
    )


_RESERVE_SQL = (
    "UPDATE inventory_stocklevel SET reserved = reserved + %s "
    "WHERE id = %s AND on_hand - reserved - safety_stock >= %s "
    "RETURNING on_hand - reserved - safety_stock, reorder_point"
)


def _reserve_exact(cursor, level_id: int, quantity: int) -> bool:
    cursor.execute(_RESERVE_SQL, [quantity, level_id, quantity])
    row = cursor.fetchone()
    if row is None:
        return False
    available_after, reorder_point = row
    emit_if_low(
        level_id=level_id,
        available_before=available_after + quantity,
        available_after=available_after,
        reorder_point=reorder_point,
    )
    return True


def _reserve_up_to(cursor, level_id: int, quantity: int) -> int:
    """Partial mode: lock the row and take what it has, up to `quantity`."""
    if _reserve_exact(cursor, level_id, quantity):
        return quantity
    level = lock_stock_levels([level_id])[level_id]
    take = min(quantity, level.on_hand - level.reserved - level.safety_stock)
    if take <= 0:
        return 0
    return take if _reserve_exact(cursor, level_id, take) else 0


def _execute(
    plan: Plan, request: RoutingRequest, lines: Sequence[DemandLine], partial: bool
) -> Allocation:
    level_of = {
        (c.location_id, product_id): level_id
        for c in request.candidates
        for product_id, level_id in c.stock_level_ids.items()
    }
    picks = sorted(
        ((level_of[(loc, lines[i].product_id)], i, qty) for i, loc, qty in plan.picks if qty > 0),
        key=lambda pick: pick[0],
    )
    granted: list[tuple[int, int, int]] = []
    with connection.cursor() as cursor:
        for level_id, index, quantity in picks:
            if partial:
                got = _reserve_up_to(cursor, level_id, quantity)
            elif _reserve_exact(cursor, level_id, quantity):
                got = quantity
            else:
                raise _Raced
            if got:
                granted.append((level_id, index, got))
    now = timezone.now()
    reservations = Reservation.objects.bulk_create(
        Reservation(
            stock_level_id=level_id,
            demand_type=ContentType.objects.get_for_model(lines[index].demand),
            demand_id=lines[index].demand.pk,
            quantity=quantity,
            reference=lines[index].reference,
            created_at=now,
        )
        for level_id, index, quantity in granted
    )
    got_per_line: dict[int, int] = defaultdict(int)
    for _, index, quantity in granted:
        got_per_line[index] += quantity
    short = {
        i: line.quantity - got_per_line[i]
        for i, line in enumerate(lines)
        if got_per_line[i] < line.quantity
    }
    return Allocation(reservations, short, plan.reason, plan.considered)


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
    """
    errors = [
        {}
        if isinstance(line.quantity, int) and line.quantity > 0
        else {"quantity": ["Must be 1 or more."]}
        for line in lines
    ]
    if not lines:
        raise ValidationFailed({"lines": ["At least one line is required."]})
    if any(errors):
        raise ValidationFailed({"lines": errors})
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
        plan = router.plan(request)
        short = plan.short(request)
        if short and not partial:
            raise InsufficientStock(
                f"Not enough stock: {plan.reason}.",
                short={lines[i].reference or str(i): q for i, q in short.items()},
                considered=plan.considered,
            )
        try:
            with transaction.atomic():
                return _execute(plan, request, lines, partial)
        except _Raced:
            if attempt == MAX_ATTEMPTS:
                raise InsufficientStock(
                    "Stock changed while reserving; not enough left.", considered=plan.considered
                ) from None
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
    if quantity is not None and (len(demands) != 1 or quantity <= 0):
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
    if not isinstance(quantity, int) or quantity <= 0:
        raise ValidationFailed({"quantity": ["Must be 1 or more."]})
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
