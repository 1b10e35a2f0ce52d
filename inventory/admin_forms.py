"""Forms of the inventory console's custom pages and of the records created through
services. They validate input and resolve codes to records; the services decide."""

from collections import Counter

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from unfold.widgets import (
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
)

from inventory.models import (
    Bin,
    CycleCount,
    Location,
    Product,
    StockLevel,
    StockMovement,
    Transfer,
)
from oms.core.exceptions import ValidationFailed

Reason = StockMovement.Reason


class BinChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Bin) -> str:
        return f"{obj.code} (zone {obj.zone})" if obj.zone else obj.code


def bins_at(location_id: int, *, keep: int | None = None):
    """Active bins of a location (plus `keep`, a bin already chosen), in walk order."""
    return Bin.objects.filter(Q(active=True) | Q(pk=keep), location_id=location_id).order_by(
        "pick_sequence", "code"
    )


def apply_service_errors(form: forms.Form, error: ValidationFailed, fields: dict[str, str]):
    """Put a service's field errors on the form fields they concern (`fields` maps the
    service's names to the form's); anything else becomes a form-wide error."""
    for name, problems in error.errors.items():
        target = fields.get(name)
        texts = problems if isinstance(problems, list) else [problems]
        for text in texts:
            form.add_error(target if target in form.fields else None, str(text))


# -- stock adjustment ---------------------------------------------------------------------


class AdjustStockForm(forms.Form):
    """Either a signed change or a counted on-hand value; stock_adjust books the ledger row."""

    delta = forms.IntegerField(
        label="Change on hand by",
        required=False,
        help_text="Signed: -3 takes three out, 5 adds five.",
        widget=UnfoldAdminIntegerFieldWidget,
    )
    counted = forms.IntegerField(
        label="Or set on hand to",
        required=False,
        min_value=0,
        help_text="A counted quantity: the difference to the current on hand is booked.",
        widget=UnfoldAdminIntegerFieldWidget,
    )
    reason = forms.ChoiceField(
        choices=[(Reason.ADJUSTMENT, Reason.ADJUSTMENT.label), (Reason.COUNT, Reason.COUNT.label)],
        initial=Reason.ADJUSTMENT,
        widget=UnfoldAdminSelectWidget,
    )
    reference = forms.CharField(
        max_length=100,
        required=False,
        help_text="A ticket, delivery note or count sheet number.",
        widget=UnfoldAdminTextInputWidget,
    )
    note = forms.CharField(
        max_length=255,
        required=False,
        help_text="Why: damaged, found, miscounted…",
        widget=UnfoldAdminTextInputWidget,
    )
    bin = BinChoiceField(
        queryset=Bin.objects.none(), required=False, widget=UnfoldAdminSelectWidget
    )

    # The service's field names -> this form's.
    service_fields = {"quantity": "delta", "on_hand": "counted", "bin": "bin", "reason": "reason"}

    def __init__(self, *args, level: StockLevel, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bin"].queryset = bins_at(level.location_id, keep=level.bin_id)
        self.fields["bin"].initial = level.bin_id

    def clean(self) -> dict:
        data = super().clean()
        delta, counted = data.get("delta"), data.get("counted")
        if "delta" in self.errors or "counted" in self.errors:
            return data
        if (delta is None) == (counted is None):
            raise ValidationError(
                "Give either a change (delta) or a counted on-hand quantity, not both.",
                code="delta_or_counted",
            )
        if delta == 0:
            self.add_error("delta", "A change of 0 changes nothing.")
        return data


# -- goods in -----------------------------------------------------------------------------


class ReceiveForm(forms.Form):
    reference = forms.CharField(
        max_length=100,
        required=False,
        help_text="Delivery note or ASN number (a purchase order's number by default).",
        widget=UnfoldAdminTextInputWidget,
    )


class ReceiveLineForm(forms.Form):
    """One received line, as typed or scanned: SKU or barcode, quantity, bin code. A line
    without a SKU, or with quantity 0, is skipped."""

    sku = forms.CharField(
        label="SKU or barcode",
        max_length=64,
        required=False,
        widget=UnfoldAdminTextInputWidget(attrs={"autocomplete": "off"}),
    )
    quantity = forms.IntegerField(min_value=0, required=False, widget=UnfoldAdminIntegerFieldWidget)
    bin = forms.CharField(
        label="Bin",
        max_length=32,
        required=False,
        widget=UnfoldAdminTextInputWidget(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, location: Location, **kwargs) -> None:
        self.location = location
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        data = super().clean()
        code = (data.get("sku") or "").strip()
        quantity = data.get("quantity")
        data["skip"] = not code or quantity == 0
        if data["skip"] or self.errors:
            return data
        product = Product.objects.filter(Q(sku=code.upper()) | Q(barcode=code)).first()
        if product is None:
            self.add_error("sku", f"No product with SKU or barcode {code}.")
        if quantity is None:
            self.add_error("quantity", "Enter the quantity received.")
        bin_code = (data.get("bin") or "").strip()
        bin_ = None
        if bin_code:
            bin_ = Bin.objects.filter(location=self.location, code__iexact=bin_code).first()
            if bin_ is None:
                self.add_error("bin", f"No bin {bin_code} at {self.location.code}.")
        data["product"], data["bin_obj"] = product, bin_
        return data


class BaseReceiveLineFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        lines = [
            form.cleaned_data for form in self.forms if not form.cleaned_data.get("skip", True)
        ]
        if not lines:
            raise ValidationError("Enter at least one line with a SKU and a quantity.")
        repeated = [
            sku for sku, n in Counter(line["product"].sku for line in lines).items() if n > 1
        ]
        if repeated:
            raise ValidationError(f"{', '.join(repeated)} is on more than one line: add them up.")

    def lines(self) -> list[tuple[int, dict]]:
        """(form index, cleaned data) of the lines to book, in the order typed."""
        return [
            (index, form.cleaned_data)
            for index, form in enumerate(self.forms)
            if not form.cleaned_data.get("skip", True)
        ]


def receive_line_formset(*, extra: int):
    return forms.formset_factory(
        ReceiveLineForm, formset=BaseReceiveLineFormSet, extra=extra, max_num=500
    )


# -- records created through services ------------------------------------------------------


class TransferForm(forms.ModelForm):
    class Meta:
        model = Transfer
        fields = ["from_location", "to_location", "expected_date"]

    def clean(self) -> dict:
        data = super().clean()
        source, target = data.get("from_location"), data.get("to_location")
        if source and target and source == target:
            self.add_error("to_location", "Choose a location other than the source.")
        return data


class CycleCountForm(forms.ModelForm):
    class Meta:
        model = CycleCount
        fields = ["location", "zone", "note"]
        help_texts = {"zone": "Bins of one zone only; leave blank to count the whole location."}


class LinesFormSet(forms.BaseInlineFormSet):
    """Lines of a new or draft document: at least one, each product once, quantity >= 1."""

    quantity_field = "quantity"

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        if not kept:
            raise ValidationError("Add at least one line.")
        for form in kept:
            quantity = form.cleaned_data.get(self.quantity_field)
            if quantity is not None and quantity < 1:
                form.add_error(self.quantity_field, "Must be 1 or more.")


class TransferLinesFormSet(LinesFormSet):
    quantity_field = "quantity"


class PurchaseOrderLinesFormSet(LinesFormSet):
    quantity_field = "quantity_ordered"


class StockLevelForm(forms.ModelForm):
    """The settings staff edit on a stock level; its pick bin is one of its location's."""

    bin = BinChoiceField(
        queryset=Bin.objects.none(), required=False, widget=UnfoldAdminSelectWidget
    )

    class Meta:
        model = StockLevel
        fields = ["bin", "safety_stock", "reorder_point", "reorder_qty"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "bin" in self.fields and self.instance.location_id:
            self.fields["bin"].queryset = bins_at(
                self.instance.location_id, keep=self.instance.bin_id
            )


class CountLinesFormSet(forms.BaseInlineFormSet):
    """Counted values only move forward: a recorded count is corrected, never cleared."""

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            if (
                "counted" in form.changed_data
                and form.cleaned_data.get("counted") is None
                and form.initial.get("counted") is not None
            ):
                form.add_error("counted", "A recorded count cannot be cleared: enter 0 if none.")
