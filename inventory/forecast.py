"""Demand forecasting from the ledger: shipped units per day, exponentially smoothed.

Reads only. The suggested reorder point is advice shown to staff; nothing here writes it.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from inventory.models import StockLevel, StockMovement

DEFAULT_LEAD_TIME_DAYS = 7
DEMAND_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Forecast:
    """Expected units shipped per day for one stock level."""

    stock_level_id: int
    daily_demand: Decimal
    lead_time_days: int
    safety_stock: int
    shipped: int  # units shipped in the window, for context
    days: int
    method: str = "ewma"

    def suggested_reorder_point(
        self, lead_time_days: int | None = None, safety_stock: int | None = None
    ) -> int:
        """ceil(daily_demand * lead_time_days) + safety_stock: reorder when what is left
        would just last until the supplier's goods arrive. Defaults to this level's own
        lead time (its product's supplier, else 7 days) and safety stock."""
        lead = self.lead_time_days if lead_time_days is None else lead_time_days
        safety = self.safety_stock if safety_stock is None else safety_stock
        return math.ceil(self.daily_demand * lead) + safety


def ewma(series: Iterable[int | Decimal], alpha: Decimal) -> Decimal:
    """Simple exponential smoothing: s_1 = x_1, s_t = alpha * x_t + (1 - alpha) * s_(t-1).
    Returns the last s (the forecast for the next day); 0 for an empty series."""
    smoothed: Decimal | None = None
    for value in series:
        value = Decimal(value)
        smoothed = value if smoothed is None else alpha * value + (1 - alpha) * smoothed
    return smoothed if smoothed is not None else Decimal(0)


def demand_forecast(
    *,
    stock_levels: QuerySet[StockLevel] | Iterable[StockLevel | int],
    today: date | None = None,
    days: int = 56,
    alpha: float | Decimal = 0.3,
) -> dict[int, Forecast]:
    """Forecast daily demand for each stock level, keyed by stock level id.

    Demand = units that left with shipments (ledger reason 'shipment', quantity negated)
    per day over the `days` days ending with `today` (inclusive; days in the current time
    zone). Days without shipments count as 0. The daily series, oldest first, is smoothed
    by `ewma` with `alpha`; daily_demand is rounded to 4 decimal places.

    Two queries whatever the number of levels: the levels' safety stock and supplier lead
    time, and the shipped units grouped by (stock level, day) with TruncDate.
    `stock_levels` may be a queryset, StockLevel instances or ids.
    """
    if days < 1:
        raise ValueError("days must be 1 or more")
    alpha = Decimal(str(alpha))
    if not 0 < alpha <= 1:
        raise ValueError("alpha must be in (0, 1]")
    today = today or timezone.localdate()
    first_day = today - timedelta(days=days - 1)

    if isinstance(stock_levels, QuerySet):
        levels = stock_levels.order_by()
    else:
        ids = {getattr(level, "pk", level) for level in stock_levels}
        levels = StockLevel.objects.filter(pk__in=ids)
    rows = list(levels.values_list("pk", "safety_stock", "product__supplier__lead_time_days"))
    if not rows:
        return {}

    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(first_day, time.min), tz)
    end = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min), tz)
    shipped: dict[int, dict[date, int]] = defaultdict(dict)
    for level_id, day, units in (
        StockMovement.objects.filter(
            stock_level_id__in=[row[0] for row in rows],
            reason=StockMovement.Reason.SHIPMENT,
            at__gte=start,
            at__lt=end,
        )
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values("stock_level_id", "day")
        .annotate(units=Sum("quantity"))
        .order_by()
        .values_list("stock_level_id", "day", "units")
    ):
        # Shipments are negative on the ledger; a day that nets positive (a correction)
        # is no demand, not negative demand.
        shipped[level_id][day] = max(-units, 0)

    calendar = [first_day + timedelta(days=n) for n in range(days)]
    forecasts = {}
    for level_id, safety_stock, lead_time in rows:
        by_day = shipped.get(level_id, {})
        demand = ewma((by_day.get(day, 0) for day in calendar), alpha)
        forecasts[level_id] = Forecast(
            stock_level_id=level_id,
            daily_demand=demand.quantize(DEMAND_PLACES, rounding=ROUND_HALF_UP),
            lead_time_days=DEFAULT_LEAD_TIME_DAYS if lead_time is None else lead_time,
            safety_stock=safety_stock,
            shipped=sum(by_day.values()),
            days=days,
        )
    return forecasts
