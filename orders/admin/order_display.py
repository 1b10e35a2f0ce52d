"""How an order reads in the console: short list cells, its address, its timeline."""

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

from orders.models import Order, OrderEvent

# Where an address reads "10115 Berlin" rather than "Seattle, WA 98109".
POSTCODE_FIRST = frozenset(
    {"AT", "BE", "CH", "DE", "DK", "ES", "FI", "FR", "IT", "NL", "NO", "PL", "PT", "SE"}
)
TIMELINE_ICONS = {
    "created": "add_shopping_cart",
    "status_changed": "swap_horiz",
    "reserved": "inventory",
    "released": "undo",
    "hold_opened": "pause_circle",
    "hold_resolved": "play_circle",
    "lines_cancelled": "remove_shopping_cart",
    "address_changed": "home_pin",
    "line_quantity_changed": "edit",
    "line_added": "add_circle",
    "line_removed": "remove_circle",
    "priority_changed": "low_priority",
}


def stamp(moment) -> str:
    """Short in lists: the year only when it is not this one."""
    moment = localtime(moment)
    same_year = moment.year == localtime().year
    return date_format(moment, "M j, H:i" if same_year else "M j Y, H:i")


def when(moment) -> SafeString:
    return format_html('<span class="whitespace-nowrap">{}</span>', stamp(moment))


def two_lines(first: str, second: str, *, strong: bool = True) -> SafeString:
    """A list cell: a line and a smaller one under it, each cut to the column (the whole
    text in its tooltip), so the list fits a laptop screen."""
    return format_html(
        '<span class="block truncate {}" style="max-width: 11.5rem" title="{}">{}</span>'
        '<span class="block text-xs text-subtle truncate" style="max-width: 11.5rem" '
        'title="{}">{}</span>',
        "font-semibold" if strong else "",
        first,
        first,
        second,
        second,
    )


def address_html(order: Order) -> SafeString:
    """The ship-to address as it is written on a parcel, one part a line."""
    country = str(order.ship_country)
    if country in POSTCODE_FIRST:
        town = " ".join(p for p in (order.ship_postcode, order.ship_city) if p)
    else:
        region_code = " ".join(p for p in (order.ship_region, order.ship_postcode) if p)
        town = ", ".join(p for p in (order.ship_city, region_code) if p)
    parts = [
        order.ship_name,
        order.ship_company,
        order.ship_line1,
        order.ship_line2,
        town,
        order.ship_country.name,
    ]
    return format_html_join(mark_safe("<br>"), "{}", ((part,) for part in parts if part))


def timeline(order: Order) -> list[dict]:
    """The order's events for the timeline panel, newest first."""
    events = OrderEvent.objects.filter(order=order).select_related("actor").order_by("-at", "-id")
    return [
        {
            "at": event.at,
            "kind": event.kind,
            "label": event.kind.replace("_", " "),
            "icon": TIMELINE_ICONS.get(event.kind, "circle"),
            "message": event.message,
            "who": event.actor.get_username() if event.actor else (event.system or "system"),
            "by_person": event.actor_id is not None,
        }
        for event in events
    ]
