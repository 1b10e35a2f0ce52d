"""Export of orders and of order lines (django-import-export), CSV and XLSX, from the
Orders list: the orders the list shows, with its filters, search and sort applied.

- Two shapes: one row per order (`OrderResource`) and one row per line
  (`OrderLineResource`). Both start from the list's order queryset; the lines resource
  turns it into the lines of those orders.
- A fixed number of queries whatever the rows: related records are joined
  (`select_related`) and the line count is a subquery, never a query per row.
- Formula-safe (wholesale-csv.md): a text cell that begins with = + - @ tab or CR gets a
  leading apostrophe (OWASP's CSV-injection advice), in CSV and XLSX alike. The choice is
  made by column, not by value: every text column is escaped, so a ship_name of "+1" or
  "-2+3" is escaped too; numeric columns (money, quantities, counts) are never touched, so
  they stay numbers (native numbers in XLSX, plain digits in CSV).
  import-export's IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT is not used: in 4.4.3 it only
  strips a leading "=" (the payload stays, "+", "-", "@", tab and CR pass) and turns every
  cell, numbers included, into text.
"""

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.expressions import BaseExpression
from django.db.models.functions import Coalesce
from import_export import fields, resources, widgets
from import_export.formats.base_formats import CSV, XLSX

from inventory.resources import FORMULA_START
from orders.models import Order, OrderLine

EXPORT_FORMATS = [CSV, XLSX]
DATETIME = "%Y-%m-%d %H:%M:%S"  # in settings.TIME_ZONE; XLSX gets native date-times
# Columns whose values are numbers or dates from the database, never text a user typed.
NOT_TEXT = (widgets.NumberWidget, widgets.DateWidget, widgets.DateTimeWidget)


def formula_safe(value: Any) -> Any:
    """A text value that a spreadsheet would run as a formula, with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def as_text(attribute: str, column: str | None = None) -> fields.Field:
    return fields.Field(attribute, column or attribute, widgets.CharWidget())


def as_number(attribute: str, column: str | None = None, *, decimal: bool = False) -> fields.Field:
    widget = widgets.DecimalWidget() if decimal else widgets.IntegerWidget()
    return fields.Field(attribute, column or attribute, widget)


def as_moment(attribute: str) -> fields.Field:
    return fields.Field(attribute, attribute, widgets.DateTimeWidget(DATETIME))


class ExportResource(resources.ModelResource):
    """Export only; escapes formulas in text columns (see the module docstring)."""

    file_name = "export"  # the download's name, before the date

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if isinstance(field.widget, NOT_TEXT):
            return value
        return formula_safe(value)


class OrderResource(ExportResource):
    file_name = "orders"

    number = as_text("number")
    channel = as_text("channel__code", "channel")
    external_ref = as_text("external_ref")
    status = as_text("status")
    payment_status = as_text("payment_status")
    customer_code = as_text("customer__code", "customer_code")
    customer_name = as_text("customer__name", "customer_name")
    email = as_text("email")
    currency = as_text("currency")
    subtotal = as_number("subtotal", decimal=True)
    shipping_total = as_number("shipping_total", decimal=True)
    total = as_number("total", decimal=True)
    placed_at = as_moment("placed_at")
    ship_by = as_moment("ship_by")
    requested_ship_date = fields.Field(
        "requested_ship_date", "requested_ship_date", widgets.DateWidget()
    )
    ship_name = as_text("ship_name")
    ship_company = as_text("ship_company")
    ship_line1 = as_text("ship_line1")
    ship_line2 = as_text("ship_line2")
    ship_city = as_text("ship_city")
    ship_region = as_text("ship_region")
    ship_postcode = as_text("ship_postcode")
    ship_country = as_text("ship_country")
    ship_phone = as_text("ship_phone")
    po_number = as_text("po_number")
    notes = as_text("notes")
    line_count = as_number("line_count")

    class Meta:
        model = Order
        name = "Orders (one row per order)"
        fields = (
            "number",
            "channel",
            "external_ref",
            "status",
            "payment_status",
            "customer_code",
            "customer_name",
            "email",
            "currency",
            "subtotal",
            "shipping_total",
            "total",
            "placed_at",
            "ship_by",
            "requested_ship_date",
            "ship_name",
            "ship_company",
            "ship_line1",
            "ship_line2",
            "ship_city",
            "ship_region",
            "ship_postcode",
            "ship_country",
            "ship_phone",
            "po_number",
            "notes",
            "line_count",
        )
        export_order = fields

    def filter_export(self, queryset: QuerySet[Order], **kwargs) -> QuerySet[Order]:
        # A subquery, not a join: the list's SKU search may join lines already.
        lines = (
            OrderLine.objects.filter(order=OuterRef("pk"))
            .order_by()
            .values("order")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return queryset.select_related("channel", "customer").annotate(
            line_count=Coalesce(Subquery(lines, output_field=IntegerField()), 0)
        )


def line_status(line: OrderLine) -> str:
    """Where a line stands, from its quantities (a line has no status field)."""
    wanted = line.quantity - line.quantity_cancelled
    if wanted <= 0:
        return "cancelled"
    if line.quantity_shipped >= wanted:
        if line.quantity_returned >= line.quantity_shipped:
            return "returned"
        return "partly returned" if line.quantity_returned else "shipped"
    if line.quantity_shipped:
        return "partly shipped"
    if line.quantity_reserved >= wanted:
        return "reserved"
    return "partly reserved" if line.quantity_reserved else "open"


def lines_ordering(orders: QuerySet[Order]) -> list[str]:
    """The list's sort as line orderings ("-placed_at" -> "-order__placed_at"), then
    line_no, so the lines come order by order as the list shows them. A sort on an
    annotation or an expression (the open holds column) is left out."""
    names = {f.name for f in Order._meta.concrete_fields} | {"pk", "id"}
    ordering = []
    for item in orders.query.order_by or Order._meta.ordering:
        if isinstance(item, BaseExpression) or item.lstrip("-") not in names:
            continue
        sign = "-" if item.startswith("-") else ""
        ordering.append(f"{sign}order__{item.lstrip('-')}")
    return [*ordering, "order__pk", "line_no"]


class OrderLineResource(ExportResource):
    file_name = "order-lines"

    order_number = as_text("order__number", "order_number")
    channel = as_text("order__channel__code", "channel")
    external_ref = as_text("order__external_ref", "external_ref")
    line_no = as_number("line_no")
    sku = as_text("sku")
    quantity = as_number("quantity")
    unit_price = as_number("unit_price", decimal=True)
    reserved = as_number("quantity_reserved", "reserved")
    shipped = as_number("quantity_shipped", "shipped")
    returned = as_number("quantity_returned", "returned")
    cancelled = as_number("quantity_cancelled", "cancelled")
    status = fields.Field(column_name="status", dehydrate_method="dehydrate_status")
    order_status = as_text("order__status", "order_status")

    class Meta:
        model = OrderLine
        name = "Order lines (one row per line)"
        fields = (
            "order_number",
            "channel",
            "external_ref",
            "line_no",
            "sku",
            "quantity",
            "unit_price",
            "reserved",
            "shipped",
            "returned",
            "cancelled",
            "status",
            "order_status",
        )
        export_order = fields

    def filter_export(self, queryset: QuerySet[Order], **kwargs) -> QuerySet[OrderLine]:
        """The admin hands over the list's orders; export their lines."""
        orders = queryset.order_by().values("pk")
        return (
            OrderLine.objects.filter(order__in=orders)
            .select_related("order__channel")
            .order_by(*lines_ordering(queryset))
        )

    def dehydrate_status(self, line: OrderLine) -> str:
        return line_status(line)
