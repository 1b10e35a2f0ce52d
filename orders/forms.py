"""Forms of the orders console: the dialogs behind the order buttons (hold, resolve,
cancel), the bulk-action pages, the edit pages and the phone order form. They only parse
what staff typed; the services decide, and their field errors are put back on the fields
they name (`apply_capture_errors`, `apply_errors`)."""

import secrets
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_countries import countries
from unfold.forms import BaseDialogForm
from unfold.widgets import (
    UnfoldAdminDecimalFieldWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminSingleDateWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanWidget,
)

from orders.models import Channel, Hold, Order


def _text(label: str = "", *, required: bool = True, max_length: int = 200, **kwargs):
    return forms.CharField(
        label=label or None,
        required=required,
        max_length=max_length,
        widget=UnfoldAdminTextInputWidget,
        **kwargs,
    )


def _reason(help_text: str) -> forms.CharField:
    return forms.CharField(
        max_length=500,
        help_text=help_text,
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}),
    )


def _messages(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{key}: {text}" for key, texts in value.items() for text in _messages(texts)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _messages(item)]
    return [str(value)] if value else []


def apply_errors(form: forms.Form, errors: dict, fields: dict[str, str] | None = None) -> None:
    """A service's {"field": ["message"]} onto the form: each name (mapped by `fields`,
    else as is) onto its field; anything the form has no field for, form-wide."""
    fields = fields or {}
    for name, problems in errors.items():
        target = fields.get(name, name)
        if target in form.fields and isinstance(problems, list | tuple):
            form.add_error(target, [str(text) for text in problems])
        else:
            label = "" if name == "non_field_errors" else f"{name.replace('_', ' ')}: "
            for text in _messages(problems):
                form.add_error(None, f"{label}{text}")


# -- dialogs behind the order and hold buttons ---------------------------------------------


class HoldForm(BaseDialogForm):
    kind = forms.ChoiceField(
        choices=Hold.Kind.choices, initial=Hold.Kind.MANUAL, widget=UnfoldAdminSelectWidget
    )
    reason = _reason("Why the order must wait; shown on the timeline and in the holds queue.")


class CancelForm(BaseDialogForm):
    reason = _reason("Why the order is cancelled; its reserved stock is released.")


class ResolveNoteForm(BaseDialogForm):
    note = forms.CharField(
        max_length=500,
        required=False,
        help_text="What was checked or decided (optional).",
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}),
    )


class OpenHoldChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Hold) -> str:
        return f"{obj.get_kind_display()}: {obj.reason[:80]}"


class ResolveHoldForm(ResolveNoteForm):
    """Resolve one of the order's open holds (the order is the dialog's object)."""

    hold = OpenHoldChoiceField(queryset=Hold.objects.none(), widget=UnfoldAdminSelectWidget)
    field_order = ["hold", "note"]

    def __init__(self, request, object_id=None, *args, **kwargs) -> None:
        super().__init__(request, object_id, *args, **kwargs)
        holds = Hold.objects.filter(order_id=object_id, resolved_at__isnull=True).order_by(
            "opened_at", "pk"
        )
        self.fields["hold"].queryset = holds
        if len(holds) == 1:
            self.fields["hold"].initial = holds[0].pk
        self.order_fields(self.field_order)


# -- bulk actions: a page between the changelist and the services -------------------------


class BulkCancelForm(forms.Form):
    reason = _reason("Recorded on every selected order's timeline.")


class BulkHoldForm(forms.Form):
    kind = forms.ChoiceField(
        choices=Hold.Kind.choices, initial=Hold.Kind.MANUAL, widget=UnfoldAdminSelectWidget
    )
    reason = _reason("Recorded on every selected order's timeline.")


class BulkResolveForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        required=False,
        help_text="Recorded on every order's timeline (optional).",
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}),
    )


# -- edits before release ------------------------------------------------------------------

COUNTRY_CHOICES = [("", "---------"), *countries]


class AddressForm(forms.Form):
    """The ship-to address; order_address_change checks it with capture's rules."""

    name = _text()
    company = _text(required=False)
    line1 = _text("Address line 1")
    line2 = _text("Address line 2", required=False)
    city = _text(max_length=100)
    region = _text("Region / state", required=False, max_length=100)
    postcode = _text(max_length=20, required=False)
    country = forms.ChoiceField(choices=COUNTRY_CHOICES, widget=UnfoldAdminSelectWidget)
    phone = _text(required=False, max_length=32)

    @classmethod
    def initial_for(cls, order: Order) -> dict:
        return {name: str(getattr(order, f"ship_{name}") or "") for name in cls.base_fields}

    def ship_to(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in self.fields}


class PriorityForm(forms.Form):
    priority = forms.IntegerField(
        min_value=0,
        help_text="Lower is served first, for stock and for picking. The channel's default "
        "is where a new order starts.",
        widget=UnfoldAdminIntegerFieldWidget,
    )


class LineEditForm(forms.Form):
    """One existing line: its new quantity, or removed."""

    line_no = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(min_value=1, widget=UnfoldAdminIntegerFieldWidget)
    remove = forms.BooleanField(required=False, widget=UnfoldBooleanWidget)


class NewLineForm(forms.Form):
    """A line to add; a row without a SKU is skipped."""

    sku = _text("SKU", required=False, max_length=64)
    quantity = forms.IntegerField(min_value=1, required=False, widget=UnfoldAdminIntegerFieldWidget)
    unit_price = forms.DecimalField(
        min_value=0, required=False, widget=UnfoldAdminDecimalFieldWidget
    )

    def clean(self) -> dict:
        data = super().clean()
        data["skip"] = not (data.get("sku") or "").strip()
        if not data["skip"]:
            if data.get("quantity") is None and "quantity" not in self.errors:
                self.add_error("quantity", "Enter the quantity.")
            if data.get("unit_price") is None and "unit_price" not in self.errors:
                self.add_error("unit_price", "Enter the unit price.")
        return data


LineEditFormSet = forms.formset_factory(LineEditForm, extra=0, max_num=500)
NewLineFormSet = forms.formset_factory(NewLineForm, extra=3, max_num=50)


# -- the phone order form -----------------------------------------------------------------


def new_phone_reference() -> str:
    """Made when the form is first shown: submitting the same form twice is then a retry
    of the same capture (channel + reference), never a second order."""
    return f"PH-{timezone.localdate():%y%m%d}-{secrets.token_hex(3).upper()}"


class PhoneOrderForm(forms.Form):
    """What support types during a call, shaped into API.md's capture payload."""

    channel = forms.ModelChoiceField(
        queryset=Channel.objects.filter(active=True),
        to_field_name="code",
        widget=UnfoldAdminSelectWidget,
        empty_label=None,
    )
    external_ref = _text(
        "Reference",
        max_length=100,
        help_text="Made for this call; use the customer's PO or ticket number if there is one.",
    )
    customer_code = _text(
        "Account code", required=False, max_length=32, help_text="Wholesale accounts only."
    )
    customer_name = _text("Customer name", required=False)
    customer_email = _text("E-mail", required=False, max_length=254)
    customer_phone = _text("Phone", required=False, max_length=32)

    ship_name = _text("Name")
    ship_company = _text("Company", required=False)
    ship_line1 = _text("Address line 1")
    ship_line2 = _text("Address line 2", required=False)
    ship_city = _text("City", max_length=100)
    ship_region = _text("Region / state", required=False, max_length=100)
    ship_postcode = _text("Postcode", required=False, max_length=20)
    ship_country = forms.ChoiceField(
        label="Country", choices=COUNTRY_CHOICES, initial="US", widget=UnfoldAdminSelectWidget
    )
    ship_phone = _text("Phone", required=False, max_length=32)

    payment_status = forms.ChoiceField(
        label="Payment",
        choices=[
            ("paid", "Paid (card taken)"),
            ("authorized", "Authorized"),
            ("pending", "Not paid yet (order waits on a payment hold)"),
            ("failed", "Failed"),
        ],
        initial="paid",
        widget=UnfoldAdminSelectWidget,
    )
    payment_amount = forms.DecimalField(
        label="Amount",
        required=False,
        min_value=0,
        help_text="Blank: the order total.",
        widget=UnfoldAdminDecimalFieldWidget,
    )
    payment_reference = _text("Payment reference", required=False, max_length=100)
    requested_ship_date = forms.DateField(
        required=False, widget=UnfoldAdminSingleDateWidget, help_text="Not before (optional)."
    )
    notes = forms.CharField(
        required=False, max_length=5000, widget=UnfoldAdminTextareaWidget(attrs={"rows": 3})
    )

    CUSTOMER = ("customer_code", "customer_name", "customer_email", "customer_phone")
    SHIP_TO = (
        "ship_name",
        "ship_company",
        "ship_line1",
        "ship_line2",
        "ship_city",
        "ship_region",
        "ship_postcode",
        "ship_country",
        "ship_phone",
    )
    PAYMENT = ("payment_status", "payment_amount", "payment_reference")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        phone = Channel.objects.filter(active=True, code="phone").first() or (
            Channel.objects.filter(active=True, kind=Channel.Kind.PHONE).first()
        )
        self.fields["channel"].initial = phone.code if phone else None
        self.fields["external_ref"].initial = new_phone_reference()

    def section(self, names: tuple[str, ...]) -> list:
        return [self[name] for name in names]

    def customer_fields(self) -> list:
        return self.section(self.CUSTOMER)

    def ship_to_fields(self) -> list:
        return self.section(self.SHIP_TO)

    def payment_fields(self) -> list:
        return self.section(self.PAYMENT)

    def other_fields(self) -> list:
        return self.section(("requested_ship_date", "notes"))


class PhoneLineForm(forms.Form):
    """One line as typed; the capture service checks the SKU and the price."""

    sku = _text("SKU", required=False, max_length=64)
    quantity = forms.IntegerField(min_value=1, required=False, widget=UnfoldAdminIntegerFieldWidget)
    unit_price = forms.DecimalField(
        label="Unit price", required=False, min_value=0, widget=UnfoldAdminDecimalFieldWidget
    )

    def clean(self) -> dict:
        data = super().clean()
        data["skip"] = not (data.get("sku") or "").strip() and data.get("quantity") is None
        return data


class BasePhoneLineFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.rows():
            raise ValidationError("Enter at least one line: a SKU, a quantity and a price.")

    def rows(self) -> list[int]:
        """Indexes of the rows that are lines (in the order typed); the capture service
        reports line errors by position in this list."""
        return [
            index
            for index, form in enumerate(self.forms)
            if hasattr(form, "cleaned_data") and not form.cleaned_data.get("skip", True)
        ]


PhoneLineFormSet = forms.formset_factory(
    PhoneLineForm, formset=BasePhoneLineFormSet, extra=4, max_num=100
)


def phone_payload(form: PhoneOrderForm, lines: BasePhoneLineFormSet) -> dict:
    """API.md's capture request from the form: the same shape the web shop posts."""
    data = form.cleaned_data
    rows = [lines.forms[index].cleaned_data for index in lines.rows()]
    payload_lines = [
        {
            "sku": (row.get("sku") or "").strip(),
            "quantity": row.get("quantity"),
            "unit_price": "" if row.get("unit_price") is None else str(row["unit_price"]),
        }
        for row in rows
    ]
    status = data["payment_status"]
    amount = data.get("payment_amount")
    if amount is None:
        amount = sum(
            ((row.get("unit_price") or Decimal("0")) * (row.get("quantity") or 0) for row in rows),
            Decimal("0"),
        )
    payload = {
        "channel": data["channel"].code,
        "external_ref": data["external_ref"].strip(),
        "customer": {
            key: data[f"customer_{key}"].strip() for key in ("code", "name", "email", "phone")
        },
        "ship_to": {
            key: str(data[f"ship_{key}"]).strip()
            for key in (
                "name",
                "company",
                "line1",
                "line2",
                "city",
                "region",
                "postcode",
                "country",
                "phone",
            )
        },
        "lines": payload_lines,
        "payment": {
            "status": status,
            "amount": "0" if status == "pending" else str(amount),
            "reference": data["payment_reference"].strip(),
        },
        "notes": data["notes"].strip(),
    }
    if data.get("requested_ship_date"):
        payload["requested_ship_date"] = data["requested_ship_date"].isoformat()
    return payload


def apply_capture_errors(form: PhoneOrderForm, lines: BasePhoneLineFormSet, errors: dict) -> None:
    """The capture service's nested errors onto the fields they name: ship_to.postcode on
    the postcode, lines[i].sku on the i-th line typed, customer.email on the e-mail..."""
    line_rows = lines.rows()
    for key, value in errors.items():
        if key in ("customer", "ship_to", "payment") and isinstance(value, dict):
            prefix = "ship" if key == "ship_to" else key
            apply_errors(form, value, {name: f"{prefix}_{name}" for name in value})
        elif (
            key == "lines"
            and isinstance(value, list)
            and any(isinstance(item, dict) for item in value)
        ):
            for position, problems in enumerate(value):
                if problems and position < len(line_rows):
                    apply_errors(lines.forms[line_rows[position]], problems)
        elif key == "lines":
            for text in _messages(value):
                form.add_error(None, f"Lines: {text}")
        else:
            apply_errors(form, {key: value})


__all__ = [
    "AddressForm",
    "BulkCancelForm",
    "BulkHoldForm",
    "BulkResolveForm",
    "CancelForm",
    "HoldForm",
    "LineEditFormSet",
    "NewLineFormSet",
    "PhoneLineFormSet",
    "PhoneOrderForm",
    "PriorityForm",
    "ResolveHoldForm",
    "ResolveNoteForm",
    "apply_capture_errors",
    "apply_errors",
    "phone_payload",
]
