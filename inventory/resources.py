"""CSV import and export of the catalogue and of opening stock (django-import-export).

- Products are master data: rows are validated like the admin form (SKU and GTIN rules,
  unique barcode) and saved as records.
- Opening stock never writes on_hand: each row goes through `stock_adjust(counted=...)`,
  so the ledger stays the truth and importing the same file twice changes nothing the
  second time (on hand is *set* to the file's value).
- Every import is all-or-nothing: one invalid row and nothing is written.
- Exports escape cells that a spreadsheet would run as a formula (= + - @ tab CR) with a
  leading apostrophe; import takes that apostrophe off again, so exports round-trip.
"""

import re
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from import_export import fields, resources, widgets
from import_export.formats.base_formats import CSV

from inventory.models import Bin, Location, Product, StockLevel, StockMovement, Supplier
from inventory.services import stock_adjust
from oms.core.exceptions import DomainError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")

FORMATS = [CSV]


def escape_formula(value: Any) -> Any:
    """OWASP's CSV-injection rule: a text cell that starts like a formula gets a leading
    apostrophe. Numbers (-5) are left alone. import-export's own setting,
    IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT, only strips a leading "=", so it is not used."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def unescape_formula(value: Any) -> Any:
    if isinstance(value, str) and value[:1] == "'" and value[1:2] and value[1] in FORMULA_START:
        return value[1:]
    return value


class TextWidget(widgets.CharWidget):
    """Text, trimmed; a blank cell is None (see `optional`)."""

    def clean(self, value, row=None, **kwargs):
        text = unescape_formula(super().clean(value, row, **kwargs)).strip()
        return text or None


def optional(attribute: str, column: str, widget: widgets.Widget) -> fields.Field:
    """A column whose blank cell leaves the record's value as it is (a new record gets
    the model's default), so a file with only some columns filled loses nothing."""
    return fields.Field(attribute, column, widget, saves_null_values=False)


class CodeWidget(widgets.ForeignKeyWidget):
    """A related record by its code; an unknown code is a row error naming it."""

    def __init__(self, model, field: str = "code", label: str = "", **kwargs) -> None:
        self.label = label or model._meta.verbose_name
        super().__init__(model, field, **kwargs)

    def clean(self, value, row=None, **kwargs):
        value = unescape_formula(value).strip() if isinstance(value, str) else value
        try:
            return super().clean(value, row, **kwargs)
        except ObjectDoesNotExist:
            raise ValueError(f"No {self.label} with {self.field} {value!r}.") from None


class WholeNumberWidget(widgets.IntegerWidget):
    def clean(self, value, row=None, **kwargs):
        try:
            number = super().clean(value, row, **kwargs)
        except (ArithmeticError, ValueError):
            raise ValueError(f"{value!r} is not a whole number.") from None
        if number is not None and number < 0:
            raise ValueError("Must be 0 or more.")
        return number


class YesNoWidget(widgets.BooleanWidget):
    TRUE_VALUES = [*widgets.BooleanWidget.TRUE_VALUES, "yes", "Yes", "YES", "y", "Y"]
    FALSE_VALUES = [*widgets.BooleanWidget.FALSE_VALUES, "no", "No", "NO", "n", "N"]

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, str):
            value = value.strip()
        if value not in (*self.TRUE_VALUES, *self.FALSE_VALUES, *self.NULL_VALUES):
            raise ValueError(f"{value!r} is not yes/no (1/0, true/false).")
        return super().clean(value, row, **kwargs)


class ConsoleResource(resources.ModelResource):
    """All-or-nothing imports, errors named by column, formula-safe exports."""

    export_related: tuple[str, ...] = ()  # select_related for the export queryset

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        # A confirmed import with an invalid row must write nothing at all.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, dry_run=dry_run, raise_errors=raise_errors, **kwargs)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        try:
            super().validate_instance(instance, import_validation_errors, validate_unique)
        except ValidationError as error:
            raise self._by_column(error) from None

    def _by_column(self, error: ValidationError) -> ValidationError:
        columns = {
            name: field.column_name
            for field in self.get_import_fields()
            if field.attribute
            for name in (field.attribute, field.attribute.split("__")[0])
        }
        if not hasattr(error, "error_dict"):
            return error
        return ValidationError(
            {
                columns.get(key, key) if key != NON_FIELD_ERRORS else key: value
                for key, value in error.error_dict.items()
            }
        )

    def filter_export(self, queryset, **kwargs):
        queryset = super().filter_export(queryset, **kwargs)
        if self.export_related and hasattr(queryset, "select_related"):
            queryset = queryset.select_related(*self.export_related)
        return queryset

    def export_field(self, field, instance, **kwargs):
        return escape_formula(super().export_field(field, instance, **kwargs))


class ProductResource(ConsoleResource):
    """sku, barcode, name, weight and size, supplier code, active. Matched by SKU; a
    blank cell keeps what the product has (a new product gets the model's default)."""

    sku = fields.Field("sku", "sku", TextWidget())
    name = optional("name", "name", TextWidget())
    barcode = optional("barcode", "barcode", TextWidget())
    weight_grams = optional("weight_grams", "weight_grams", WholeNumberWidget())
    length_mm = optional("length_mm", "length_mm", WholeNumberWidget())
    width_mm = optional("width_mm", "width_mm", WholeNumberWidget())
    height_mm = optional("height_mm", "height_mm", WholeNumberWidget())
    supplier = optional("supplier", "supplier", CodeWidget(Supplier, label="supplier"))
    active = optional("active", "active", YesNoWidget())

    export_related = ("supplier",)

    class Meta:
        model = Product
        name = "Products"
        fields = (
            "sku",
            "barcode",
            "name",
            "weight_grams",
            "length_mm",
            "width_mm",
            "height_mm",
            "supplier",
            "active",
        )
        import_id_fields = ("sku",)
        clean_model_instances = True  # SKU and GTIN validators, unique barcode
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        return Product.objects.select_related("supplier").order_by("sku")

    def before_import_row(self, row, **kwargs) -> None:
        # SKUs are upper case; a file typed in lower case still matches.
        if isinstance(row.get("sku"), str):
            row["sku"] = row["sku"].strip().upper()


class BinCodeWidget(CodeWidget):
    """A bin by its code at the row's location."""

    def get_queryset(self, value, row, *args, **kwargs):
        return Bin.objects.filter(location__code=(row or {}).get("location", ""))


class OpeningStockResource(ConsoleResource):
    """sku, location, quantity (on hand), bin, safety_stock, reorder_point, reorder_qty.

    On import, on hand is set to `quantity` (required) through stock_adjust(counted=...),
    which writes the ledger row; the other columns are saved on the stock level, a blank
    cell keeping its current value. Re-importing the same file finds nothing to change
    and skips every row.
    """

    sku = fields.Field("product", "sku", CodeWidget(Product, "sku", label="product"))
    location = fields.Field("location", "location", CodeWidget(Location, label="location"))
    quantity = fields.Field("on_hand", "quantity", WholeNumberWidget())
    bin = optional("bin", "bin", BinCodeWidget(Bin, label="bin"))
    safety_stock = optional("safety_stock", "safety_stock", WholeNumberWidget())
    reorder_point = optional("reorder_point", "reorder_point", WholeNumberWidget())
    reorder_qty = optional("reorder_qty", "reorder_qty", WholeNumberWidget())

    SETTINGS = ("bin", "safety_stock", "reorder_point", "reorder_qty")
    export_related = ("product", "location", "bin")

    class Meta:
        model = StockLevel
        name = "Opening stock"
        fields = (
            "sku",
            "location",
            "quantity",
            "bin",
            "safety_stock",
            "reorder_point",
            "reorder_qty",
        )
        import_id_fields = ("sku", "location")
        clean_model_instances = False  # the service validates quantities
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        return StockLevel.objects.select_related("product", "location", "bin").order_by(
            "product__sku", "location__code"
        )

    def before_import_row(self, row, **kwargs) -> None:
        for column in ("sku", "location"):
            if isinstance(row.get(column), str):
                row[column] = unescape_formula(row[column]).strip().upper()

    def get_instance(self, instance_loader, row):
        # By codes, without raising: an unknown code is reported by import_instance.
        return (
            self.get_queryset()
            .filter(product__sku=row.get("sku"), location__code=row.get("location"))
            .first()
        )

    def import_instance(self, instance, row, **kwargs) -> None:
        super().import_instance(instance, row, **kwargs)
        if instance.on_hand is None:
            raise ValidationError({"on_hand": "Give the quantity on hand (0 or more)."})

    def save_instance(self, instance, is_create, row, **kwargs) -> None:
        """Through the service, never a save of on_hand. Runs in dry runs too: the
        preview happens inside a transaction that import-export rolls back."""
        counted = instance.on_hand
        reference = f"IMPORT {kwargs.get('file_name') or 'opening stock'}"[:100]
        try:
            stock_adjust(
                product=instance.product,
                location=instance.location,
                counted=counted,
                reason=StockMovement.Reason.ADJUSTMENT,
                reference=reference,
                note=f"Opening stock import: on hand set to {counted}.",
                bin=instance.bin,
                actor=kwargs.get("user"),
            )
        except DomainError as error:
            raise ValidationError({"quantity": error.message}) from None
        level = StockLevel.objects.get(product=instance.product, location=instance.location)
        changed = [
            name for name in self.SETTINGS if getattr(level, name) != getattr(instance, name)
        ]
        for name in changed:
            setattr(level, name, getattr(instance, name))
        if changed:
            level.save(update_fields=[*changed, "updated_at"])
        # What the preview and the admin log show: the level as it now is.
        instance.pk, instance.on_hand, instance.reserved = level.pk, level.on_hand, level.reserved
        instance.created_at, instance.updated_at = level.created_at, level.updated_at
