"""Reserving for many demands in one transaction: plan under lock, then write in bulk.

`stock_allocate` reserves one demand at a time from an unlocked snapshot, one statement
per pick, and re-plans when it loses a race: best for one hot SKU and many clients. A
capture (one order or a CSV import's chunk of hundreds) wants the opposite: few
statements whatever the number of lines. So `stock_plan` locks every candidate stock
level of the batch's products at once (in id order, like every other path, so no cycle),
plans each request in turn against what the earlier ones left, and `stock_reserve` then
writes all the picks with one UPDATE and one INSERT. Under the lock the plan cannot go
stale, so there is no retry. Partial by nature: what a request cannot get is `short`.
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from inventory.models import Location, Reservation, StockLevel
from inventory.routing import Candidate, Router, RoutingRequest, get_router
from inventory.services.reservations import DemandLine
from inventory.services.stock import emit_if_low
from oms.core import fastsql
from oms.core.fastsql import insert

_LEVEL = StockLevel._meta.db_table
_LOCATION = Location._meta.db_table


@dataclass(frozen=True)
class AllocationRequest:
    """One demand's lines as (product id, quantity), and where it ships."""

    lines: tuple[tuple[int, int], ...]
    destination_country: str = ""
    destination_postcode: str = ""
    policy: str = "fastest"
    allow_split: bool = False
    channel_code: str | None = None


@dataclass
class PlannedAllocation:
    picks: list[tuple[int, int, int]] = field(default_factory=list)  # (line, level id, qty)
    short: dict[int, int] = field(default_factory=dict)  # line index -> units not found
    reason: str = ""
    considered: list[str] = field(default_factory=list)

    def reserved(self, index: int) -> int:
        return sum(q for i, _, q in self.picks if i == index)


@dataclass
class _Level:
    id: int
    product_id: int
    free: int
    location_id: int
    code: str
    priority: int
    country: str
    channels: list[str]


def _lock_levels(product_ids: set[int]) -> list[_Level]:
    ids = sorted(product_ids)
    lock = " FOR UPDATE OF sl" if connection.features.has_select_for_update_of else ""
    sql = (
        "SELECT sl.id, sl.product_id, sl.on_hand - sl.reserved - sl.safety_stock, "
        "loc.id, loc.code, loc.priority, loc.country, loc.channel_codes "
        f"FROM {_LEVEL} sl INNER JOIN {_LOCATION} loc ON loc.id = sl.location_id "
        f"WHERE loc.active AND loc.fulfils_orders AND sl.product_id IN ({', '.join(['%s'] * len(ids))}) "
        f"ORDER BY sl.id{lock}"
    )
    with fastsql.cursor(len(ids)) as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
    levels = []
    for row in rows:
        channels = row[7]
        if isinstance(channels, str):  # SQLite hands JSON back as text
            channels = json.loads(channels)
        levels.append(_Level(*row[:7], channels or []))
    return levels


def _candidates(levels, free: dict[int, int], channel: str | None) -> tuple:
    by_location: dict[int, Candidate] = {}
    for level in levels:
        if channel and level.channels and channel not in level.channels:
            continue
        candidate = by_location.get(level.location_id)
        if candidate is None:
            candidate = by_location[level.location_id] = Candidate(
                level.location_id, level.code, level.priority, level.country, {}, {}
            )
        candidate.available[level.product_id] = max(free[level.id], 0)
        candidate.stock_level_ids[level.product_id] = level.id
    return tuple(by_location.values())


def stock_plan(
    requests: Sequence[AllocationRequest], *, router: Router | None = None
) -> list[PlannedAllocation]:
    """Lock the stock the requests could use and plan each in turn (call inside the
    transaction that will `stock_reserve` the plans). Nothing is written yet."""
    product_ids = {product_id for request in requests for product_id, _ in request.lines}
    if not product_ids:
        return [PlannedAllocation() for _ in requests]
    router = router or get_router()
    levels = _lock_levels(product_ids)
    free = {level.id: level.free for level in levels}
    by_product: dict[int, list[_Level]] = defaultdict(list)
    for level in levels:
        by_product[level.product_id].append(level)
    plans = []
    for request in requests:
        # Only this request's products' levels, in id order: a chunk of an import locks
        # thousands, and an order looks at a handful.
        mine = sorted(
            (level for p in {p for p, _ in request.lines} for level in by_product[p]),
            key=lambda level: level.id,
        )
        routing = RoutingRequest(
            lines=request.lines,
            candidates=_candidates(mine, free, request.channel_code),
            destination_country=request.destination_country,
            destination_postcode=request.destination_postcode,
            policy=request.policy,
            allow_split=request.allow_split,
        )
        plan = router.plan(routing)
        level_of = {
            (c.location_id, product_id): level_id
            for c in routing.candidates
            for product_id, level_id in c.stock_level_ids.items()
        }
        picks = []
        for index, location_id, quantity in plan.picks:
            if quantity > 0:
                level_id = level_of[(location_id, request.lines[index][0])]
                free[level_id] -= quantity
                picks.append((index, level_id, quantity))
        plans.append(PlannedAllocation(picks, plan.short(routing), plan.reason, plan.considered))
    return plans


def stock_reserve(
    plans: Sequence[PlannedAllocation],
    demands: Sequence[Sequence[DemandLine]],
    *,
    insert_reservations: bool = True,
) -> list[Reservation]:
    """Write the plans of `stock_plan` (same transaction): one UPDATE of the stock levels,
    one INSERT of the reservations, `demands[i][line]` naming what each pick is held for.
    The UPDATE keeps its availability condition, so even a misuse cannot oversell.
    `insert_reservations=False` hands the reservations back unsaved, for the caller to
    write in this transaction along with its own rows (capture: one statement for them)."""
    per_level: dict[int, int] = defaultdict(int)
    now = timezone.now()
    reservations = []
    for plan, lines in zip(plans, demands, strict=True):
        for index, level_id, quantity in plan.picks:
            line = lines[index]
            per_level[level_id] += quantity
            reservations.append(
                Reservation(
                    stock_level_id=level_id,
                    demand_type=ContentType.objects.get_for_model(line.demand),
                    demand_id=line.demand.pk,
                    quantity=quantity,
                    reference=line.reference,
                    created_at=now,
                )
            )
    if not per_level:
        return []
    ids = sorted(per_level)
    cases = " ".join("WHEN %s THEN %s" for _ in ids)
    amount = f"CASE id {cases} END"
    params = [value for level_id in ids for value in (level_id, per_level[level_id])]
    sql = (
        f"UPDATE {_LEVEL} SET reserved = reserved + {amount} "
        f"WHERE id IN ({', '.join(['%s'] * len(ids))}) "
        f"AND on_hand - reserved - safety_stock >= {amount} "
        "RETURNING id, on_hand - reserved - safety_stock, reorder_point"
    )
    with fastsql.cursor(2 * len(params) + len(ids)) as cursor:
        cursor.execute(sql, [*params, *ids, *params])
        rows = cursor.fetchall()
    if len(rows) != len(ids):
        # Only possible if the levels were not locked by stock_plan in this transaction.
        raise RuntimeError(
            "stock_reserve: stock moved under a plan; plan and reserve in one transaction"
        )
    if insert_reservations:
        insert(reservations)
    for level_id, available_after, reorder_point in rows:
        emit_if_low(
            level_id=level_id,
            available_before=available_after + per_level[level_id],
            available_after=available_after,
            reorder_point=reorder_point,
        )
    return reservations
