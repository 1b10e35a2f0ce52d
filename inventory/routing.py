"""Routing: where stock for an order is taken from (DESIGN.md section 7).

The allocate service asks a router for a plan. The router is named by the OMS_ROUTER
setting and loaded by dotted path, so inventory never imports fulfilment. Routers are
pure: they get a snapshot of availability and return a plan; the service does the
reserving and copes with stock that moved in between.
"""

from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Candidate:
    """A location that may ship, with what it can give per product right now."""

    location_id: int
    code: str
    priority: int
    country: str
    available: dict[int, int]  # product id -> units free to reserve (never below 0)
    stock_level_ids: dict[int, int]  # product id -> stock level id


@dataclass(frozen=True)
class RoutingRequest:
    lines: tuple[tuple[int, int], ...]  # (product id, quantity) per demand line, in order
    candidates: tuple[Candidate, ...]
    destination_country: str = ""
    destination_postcode: str = ""
    policy: str = "fastest"
    allow_split: bool = False


@dataclass
class Plan:
    """Quantities per line and location. Lines not fully covered are short."""

    picks: list[tuple[int, int, int]] = field(
        default_factory=list
    )  # (line index, location id, qty)
    reason: str = ""
    considered: list[str] = field(default_factory=list)

    def short(self, request: RoutingRequest) -> dict[int, int]:
        covered: dict[int, int] = {}
        for index, _, quantity in self.picks:
            covered[index] = covered.get(index, 0) + quantity
        return {
            index: wanted - covered.get(index, 0)
            for index, (_, wanted) in enumerate(request.lines)
            if covered.get(index, 0) < wanted
        }


class Router(Protocol):
    def plan(self, request: RoutingRequest) -> Plan: ...


class PriorityRouter:
    """Location priority, one location first: the lowest-priority-number location that can
    ship every line; else, where the channel allows a split, each line from the best
    locations in turn; else the location that covers the most units (the rest waits)."""

    def plan(self, request: RoutingRequest) -> Plan:
        candidates = sorted(request.candidates, key=lambda c: (c.priority, c.code))
        considered = [
            f"{c.code}: " + ", ".join(f"{c.available.get(p, 0)}/{q}" for p, q in request.lines)
            for c in candidates
        ]
        # Two lines may name the same product: a location ships them both only if it has
        # their sum, so availability is used up line by line, never checked per line.
        needed: dict[int, int] = {}
        for product_id, quantity in request.lines:
            needed[product_id] = needed.get(product_id, 0) + quantity
        for candidate in candidates:
            if all(candidate.available.get(p, 0) >= q for p, q in needed.items()):
                picks = [(i, candidate.location_id, q) for i, (_, q) in enumerate(request.lines)]
                return Plan(picks, f"{candidate.code} can ship every line", considered)
        if not candidates:
            return Plan([], "no active location fulfils orders", considered)
        if request.allow_split:
            return self._split(request, candidates, considered)
        covered = {c.location_id: self._take(request, c) for c in candidates}
        best = max(candidates, key=lambda c: sum(q for _, _, q in covered[c.location_id]))
        return Plan(
            covered[best.location_id],
            f"no single location has everything; {best.code} covers the most",
            considered,
        )

    @staticmethod
    def _take(request: RoutingRequest, candidate: Candidate) -> list[tuple[int, int, int]]:
        """What one location can give each line, in line order, without counting a unit
        twice."""
        left = dict(candidate.available)
        picks = []
        for index, (product_id, wanted) in enumerate(request.lines):
            take = min(left.get(product_id, 0), wanted)
            if take > 0:
                picks.append((index, candidate.location_id, take))
                left[product_id] -= take
        return picks

    @staticmethod
    def _split(request: RoutingRequest, candidates: list[Candidate], considered: list[str]) -> Plan:
        left = {c.location_id: dict(c.available) for c in candidates}
        picks = []
        used = []
        for index, (product_id, wanted) in enumerate(request.lines):
            for candidate in candidates:
                if wanted == 0:
                    break
                take = min(left[candidate.location_id].get(product_id, 0), wanted)
                if take > 0:
                    picks.append((index, candidate.location_id, take))
                    left[candidate.location_id][product_id] -= take
                    wanted -= take
                    if candidate.code not in used:
                        used.append(candidate.code)
        return Plan(
            picks, f"split across {', '.join(used) or 'no location'} by priority", considered
        )


@cache
def _router_class(path: str) -> type:
    return import_string(path)


def get_router() -> Router:
    return _router_class(settings.OMS_ROUTER)()
