"""DESIGN.md invariants 1 and 2, as queries that return every violation."""

from collections.abc import Iterator

from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from inventory.models import Reservation, StockLevel, StockMovement


def _sum(queryset, column: str):
    return Coalesce(
        Subquery(queryset.values(column).annotate(total=Sum("quantity")).values("total")[:1]),
        Value(0),
        output_field=IntegerField(),
    )


def violations() -> Iterator[str]:
    ledger = StockMovement.objects.filter(stock_level=OuterRef("pk")).order_by()
    active = Reservation.objects.filter(
        stock_level=OuterRef("pk"), state=Reservation.State.ACTIVE
    ).order_by()
    levels = (
        StockLevel.objects.annotate(
            ledger_total=_sum(ledger, "stock_level"), active_total=_sum(active, "stock_level")
        )
        .filter(
            ~Q(on_hand=F("ledger_total"))
            | ~Q(reserved=F("active_total"))
            | Q(reserved__lt=0)
            | Q(reserved__gt=F("on_hand"))
        )
        .select_related("product", "location")
    )
    for level in levels:
        name = f"{level.product.sku} @ {level.location.code}"
        if level.on_hand != level.ledger_total:
            yield f"invariant 1: {name}: on_hand {level.on_hand} != ledger sum {level.ledger_total}"
        if level.reserved != level.active_total:
            yield f"invariant 2: {name}: reserved {level.reserved} != active reservations {level.active_total}"
        if not 0 <= level.reserved <= level.on_hand:
            yield f"invariant 2: {name}: reserved {level.reserved} outside 0..on_hand {level.on_hand}"
