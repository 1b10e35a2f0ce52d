from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.forecast import DEFAULT_LEAD_TIME_DAYS, Forecast, demand_forecast, ewma
from inventory.models import StockLevel, Supplier
from inventory.services import stock_move
from tests.factories import ProductFactory, stocked

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


def ship(level: StockLevel, quantity: int, *, on: date, reason: str = "shipment") -> None:
    """Units leaving through the ledger, dated `on` (noon, current time zone)."""
    movement = stock_move(
        product=level.product, location=level.location, quantity=-quantity, reason=reason
    )
    at = timezone.make_aware(datetime.combine(on, time(12)))
    type(movement).objects.filter(pk=movement.pk).update(at=at)


def level_with(*, lead_time_days: int | None, safety_stock: int = 0) -> StockLevel:
    supplier = None
    if lead_time_days is not None:
        supplier = Supplier.objects.create(
            code=f"S{Supplier.objects.count()}", name="Supplier", lead_time_days=lead_time_days
        )
    level = stocked(product=ProductFactory(supplier=supplier), quantity=1000)
    StockLevel.objects.filter(pk=level.pk).update(safety_stock=safety_stock)
    level.refresh_from_db()
    return level


def test_ewma_by_hand():
    # s1 = 3; s2 = .3*0 + .7*3 = 2.1; s3 = .3*6 + .7*2.1 = 3.27; s4 = .3*1 + .7*3.27 = 2.589
    assert ewma([3, 0, 6, 1], Decimal("0.3")) == Decimal("2.589")
    assert ewma([], Decimal("0.3")) == 0
    assert ewma([5], Decimal("0.3")) == 5


def test_demand_is_the_smoothed_daily_shipments_of_the_window():
    level = level_with(lead_time_days=4, safety_stock=2)
    window = [TODAY - timedelta(days=n) for n in (3, 2, 1, 0)]  # oldest first
    ship(level, 3, on=window[0])
    ship(level, 4, on=window[2])  # two shipments on one day: 6
    ship(level, 2, on=window[2])
    ship(level, 1, on=window[3])
    # Not demand: before the window, after today, and other reasons.
    ship(level, 50, on=TODAY - timedelta(days=4))
    ship(level, 50, on=TODAY + timedelta(days=1))
    ship(level, 50, on=window[1], reason="adjustment")
    ship(level, 50, on=window[1], reason="transfer")

    forecast = demand_forecast(stock_levels=[level], today=TODAY, days=4)[level.pk]

    # Daily series [3, 0, 6, 1] -> 2.589 (see test_ewma_by_hand).
    assert forecast.daily_demand == Decimal("2.5890")
    assert forecast.method == "ewma"
    assert forecast.shipped == 10
    assert forecast.lead_time_days == 4
    # ceil(2.589 * 4) + 2 = ceil(10.356) + 2 = 13
    assert forecast.suggested_reorder_point() == 13
    assert forecast.suggested_reorder_point(10, 0) == 26  # ceil(25.89)


def test_alpha_changes_the_weight_of_recent_days():
    level = level_with(lead_time_days=1)
    ship(level, 8, on=TODAY - timedelta(days=2))
    ship(level, 4, on=TODAY)
    # alpha 0.5 over [8, 0, 4]: 8 -> 4 -> 4
    forecast = demand_forecast(stock_levels=[level], today=TODAY, days=3, alpha=0.5)[level.pk]
    assert forecast.daily_demand == Decimal("4.0000")


def test_no_shipments_means_no_demand_and_the_safety_stock_as_reorder_point():
    level = level_with(lead_time_days=None, safety_stock=5)

    forecast = demand_forecast(stock_levels=[level], today=TODAY)[level.pk]

    assert forecast == Forecast(
        stock_level_id=level.pk,
        daily_demand=Decimal("0.0000"),
        lead_time_days=DEFAULT_LEAD_TIME_DAYS,
        safety_stock=5,
        shipped=0,
        days=56,
    )
    assert forecast.suggested_reorder_point() == 5
    assert forecast.suggested_reorder_point(DEFAULT_LEAD_TIME_DAYS, 5) == 5


def test_every_level_gets_its_own_forecast_from_a_queryset_or_ids():
    busy = level_with(lead_time_days=2)
    quiet = level_with(lead_time_days=3)
    ship(busy, 7, on=TODAY)

    by_queryset = demand_forecast(
        stock_levels=StockLevel.objects.filter(pk__in=[busy.pk, quiet.pk]), today=TODAY, days=1
    )
    by_ids = demand_forecast(stock_levels=[busy.pk, quiet.pk], today=TODAY, days=1)

    assert by_queryset == by_ids
    assert by_ids[busy.pk].daily_demand == 7
    assert by_ids[quiet.pk].daily_demand == 0
    assert by_ids[quiet.pk].lead_time_days == 3
    assert demand_forecast(stock_levels=[], today=TODAY) == {}


@pytest.mark.parametrize("count", [1, 6])
def test_the_query_count_does_not_grow_with_the_number_of_levels(count, django_assert_num_queries):
    levels = [level_with(lead_time_days=n % 2 or None) for n in range(count)]
    for n, level in enumerate(levels):
        ship(level, n + 1, on=TODAY - timedelta(days=n))

    with django_assert_num_queries(2):  # the levels; the shipments grouped by level and day
        forecasts = demand_forecast(stock_levels=levels, today=TODAY)

    assert sorted(forecasts) == sorted(level.pk for level in levels)


@pytest.mark.parametrize(("days", "alpha"), [(0, 0.3), (7, 0), (7, 1.5)])
def test_nonsense_parameters_are_refused(days, alpha):
    with pytest.raises(ValueError):
        demand_forecast(stock_levels=[], days=days, alpha=alpha)


def test_days_are_days_in_the_current_time_zone():
    level = level_with(lead_time_days=1)
    movement = stock_move(
        product=level.product, location=level.location, quantity=-5, reason="shipment"
    )
    with timezone.override("America/New_York"):
        # 21:00 in New York is 02:00 UTC the next day: still TODAY's demand there.
        at = timezone.make_aware(datetime.combine(TODAY, time(21)))
        type(movement).objects.filter(pk=movement.pk).update(at=at)
        forecast = demand_forecast(stock_levels=[level], today=TODAY, days=1)[level.pk]
    assert forecast.daily_demand == 5
