"""Validation of a captured order, the same for every entry point (API, phone order form,
CSV import, store). Errors come back in the API's shape: {"field": ["message"]}, nested
for ship_to and lines, so each caller can name the field or row."""

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_countries import countries

from inventory.models import Product
from oms.core.fastsql import Query, in_list, select_many
from orders.models import MINOR_UNITS, Channel, Customer

# Format checks for the countries we ship to most; other countries' postcodes are
# accepted as written (required unless the country has no postcodes).
POSTCODE_PATTERNS = {
    "US": r"\d{5}(-\d{4})?",
    "CA": r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d",
    "GB": r"(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPS-UW]|[A-HK-Y][0-9][ABEHMNPRV-Y]) ?[0-9][ABD-HJLNP-UW-Z]{2})",
    "DE": r"\d{5}",
    "FR": r"\d{5}",
    "NL": r"[1-9]\d{3} ?[A-Z]{2}",
    "AU": r"\d{4}",
}
NO_POSTCODE = frozenset(
    {"AE", "AG", "AO", "BS", "BZ", "CW", "FJ", "GH", "HK", "IE", "JM", "QA", "ZW"}
)
PAYMENT_STATUSES = ("pending", "authorized", "paid", "failed")
# What the columns hold (an order line's quantity, prices, totals, priority): larger
# values are refused here rather than failing in the database.
MAX_QUANTITY = 1_000_000
MAX_PRIORITY = 1_000_000
MAX_UNIT_PRICE = Decimal("1e10")  # OrderLine.unit_price: 12 digits, 2 decimals
MAX_TOTAL = Decimal("1e12")  # Order.total, Payment.amount: 14 digits, 2 decimals
# ship_to keys and their column widths on Order.
ADDRESS_FIELDS = {
    "name": 200,
    "company": 200,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "region": 100,
    "postcode": 20,
    "country": 2,
    "phone": 32,
}


@dataclass
class LineInput:
    product: Product
    quantity: int
    unit_price: Decimal


@dataclass
class CaptureInput:
    """A validated order, ready to write."""

    channel: Channel
    external_ref: str
    placed_at: datetime
    currency: str
    customer: Customer | None
    customer_fields: dict
    email: str
    ship_to: dict
    lines: list[LineInput]
    payment: dict | None
    bill_country: str = ""
    requested_ship_date: date | None = None
    po_number: str = ""
    notes: str = ""
    priority: int | None = None
    holds: list[tuple[str, str, dict]] = field(default_factory=list)  # (kind, reason, data)


def _text(value: Any, limit: int) -> str:
    return str(value).strip()[:limit] if value is not None else ""


class Lookups:
    """The rows validation reads (channels, customers by code, products by SKU), read once
    for a whole batch of requests, in one round trip for one order or for five hundred.
    `also`: the caller's own reads, made in that round trip (found in `self.also`)."""

    def __init__(self, payloads: list, *, also: tuple[Query, ...] = ()) -> None:
        channels, codes, skus = set(), set(), set()
        for payload in payloads:
            if not isinstance(payload, dict):
                continue
            channels.add(_text(payload.get("channel"), 32))
            customer = payload.get("customer")
            if isinstance(customer, dict) and customer.get("code"):
                codes.add(_text(customer.get("code"), 33))
            for line in payload.get("lines") or []:
                if isinstance(line, dict):
                    skus.add(_text(line.get("sku"), 64).upper())
        channels.discard("")
        codes.discard("")
        skus.discard("")
        # Inactive channels too: a retry of an order taken before a channel closed is
        # still a retry (validation refuses new orders for it).
        found = select_many(
            [
                _query(Channel, "code", channels),
                _query(Customer, "code", codes),
                _query(Product, "sku", skus),
                *also,
            ]
        )
        self.channels = {c.code: c for c in found[0]}
        self.customers = {c.code: c for c in found[1]}
        self.products = {p.sku: p for p in found[2]}
        self.also = found[3:]


def _query(model, column: str, values: set) -> Query | None:
    if not values:
        return None
    sql, params = in_list(values)
    return model, f"{column} IN {sql}", params


def normalise_postcode(country: str, postcode: str) -> str:
    return re.sub(r"\s+", " ", postcode.strip().upper())


def check_postcode(country: str, postcode: str) -> str | None:
    """An error message, or None when the postcode fits the country."""
    if not postcode:
        return None if country in NO_POSTCODE else "This field is required for this country."
    pattern = POSTCODE_PATTERNS.get(country)
    if pattern and not re.fullmatch(pattern, normalise_postcode(country, postcode)):
        return f"{postcode!r} is not a valid {country} postcode."
    return None


@functools.lru_cache(maxsize=4096)
def _phone(phone: str, country: str) -> tuple[str | None, str]:
    """(error, E.164 form) of a phone number. Cached: an order carries the same number
    for the customer and the ship-to, and returning customers bring theirs again; parsing
    was a tenth of a capture's CPU."""
    try:
        number = phonenumbers.parse(phone, country or None)
    except phonenumbers.NumberParseException:
        return f"{phone!r} is not a phone number.", ""
    if not phonenumbers.is_valid_number(number):
        return f"{phone!r} is not a valid phone number.", ""
    return None, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_phone(phone: str, country: str) -> str | None:
    return _phone(phone, country)[0]


def format_phone(phone: str, country: str) -> str:
    """The E.164 form of a number check_phone accepted."""
    return _phone(phone, country)[1] if phone else ""


def check_money(
    value: Any, currency: str, maximum: Decimal = MAX_TOTAL
) -> tuple[Decimal | None, str | None]:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None, "A decimal number is required."
    if not amount.is_finite():
        return None, "A decimal number is required."
    if amount < 0:
        return None, "Must be 0 or more."
    if amount >= maximum:
        return None, f"Must be less than {maximum:f}."
    places = MINOR_UNITS.get(currency, 2)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        return None, f"{currency} allows at most {places} decimal places."
    return amount, None


def _check_email(value: str) -> str | None:
    try:
        validate_email(value)
    except ValidationError:
        return "Enter a valid e-mail address."
    return None


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    return None


def _parse(parser, value: Any):
    """A dateparse result, or None when the text is not one (a well-formed but impossible
    date such as 2026-02-30 raises ValueError in Django's parsers)."""
    try:
        return parser(str(value))
    except ValueError:
        return None


def _ship_to(raw: Any) -> tuple[dict, dict]:
    if not isinstance(raw, dict):
        return {}, {"non_field_errors": ["An address object is required."]}
    # Read whole (the 1000 is a guard, not a column); too long is an error, not a cut.
    address = {key: _text(raw.get(key), 1000) for key in ADDRESS_FIELDS}
    address["country"] = address["country"].upper()
    errors: dict[str, list[str]] = {}
    for key in ("name", "line1", "city", "country"):
        if not address[key]:
            errors[key] = ["This field is required."]
    for key, limit in ADDRESS_FIELDS.items():
        if key not in ("country", "phone") and len(address[key]) > limit:
            errors[key] = [f"At most {limit} characters."]
    if address["country"] and address["country"] not in countries:
        errors["country"] = [f"{address['country']!r} is not an ISO 3166-1 alpha-2 country code."]
    elif address["country"]:
        problem = check_postcode(address["country"], address["postcode"])
        if problem:
            errors["postcode"] = [problem]
        else:
            address["postcode"] = normalise_postcode(address["country"], address["postcode"])
    if address["phone"]:
        problem = check_phone(address["phone"], address["country"])
        if problem:
            errors["phone"] = [problem]
        else:
            address["phone"] = format_phone(address["phone"], address["country"])
    return address, errors


def validate_capture(
    payload: Any, lookups: Lookups | None = None
) -> tuple[CaptureInput | None, dict]:
    """Check a capture request. Returns (input, {}) or (None, errors) — never half.
    `lookups` holds the rows a batch's validation reads (read here when not given)."""
    if not isinstance(payload, dict):
        return None, {"non_field_errors": ["A JSON object is required."]}
    errors: dict[str, Any] = {}
    lookups = lookups or Lookups([payload])

    channel = None
    code = _text(payload.get("channel"), 32)
    if not code:
        errors["channel"] = ["This field is required."]
    else:
        channel = lookups.channels.get(code)
        if channel is None or not channel.active:
            channel = None
            errors["channel"] = [f"Unknown or inactive channel {code!r}."]

    external_ref = _text(payload.get("external_ref"), 101)
    if not external_ref:
        errors["external_ref"] = ["This field is required."]
    elif len(external_ref) > 100:
        errors["external_ref"] = ["At most 100 characters."]

    placed_at = timezone.now()
    if payload.get("placed_at") not in (None, ""):
        parsed = (
            _parse(parse_datetime, payload["placed_at"])
            if isinstance(payload["placed_at"], str)
            else payload["placed_at"]
        )
        if not isinstance(parsed, datetime):
            errors["placed_at"] = ["An ISO 8601 date and time is required."]
        else:
            placed_at = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)

    currency = _text(payload.get("currency"), 20).upper() or (channel.currency if channel else "")
    if currency and currency not in MINOR_UNITS:
        errors["currency"] = [
            f"{currency!r} is not a currency we sell in ({', '.join(MINOR_UNITS)})."
        ]

    ship_to, address_errors = _ship_to(payload.get("ship_to"))
    if address_errors:
        errors["ship_to"] = address_errors

    customer, customer_fields, email = None, {}, ""
    raw_customer = payload.get("customer") or {}
    if not isinstance(raw_customer, dict):
        errors["customer"] = {"non_field_errors": ["An object is required."]}
    else:
        customer_errors = {}
        customer_fields = {
            "code": _text(raw_customer.get("code"), 33),
            "name": _text(raw_customer.get("name"), 200),
            "email": _text(raw_customer.get("email"), 255).lower(),
            "phone": _text(raw_customer.get("phone"), 1000),
        }
        email = customer_fields["email"]
        if email and (len(email) > 254 or _check_email(email)):
            customer_errors["email"] = ["Enter a valid e-mail address."]
        if customer_fields["phone"]:
            problem = check_phone(customer_fields["phone"], ship_to.get("country", ""))
            if problem:
                customer_errors["phone"] = [problem]
            else:
                # Stored as E.164, like the ship-to phone (and within Customer.phone's 32).
                customer_fields["phone"] = format_phone(
                    customer_fields["phone"], ship_to.get("country", "")
                )
        if len(customer_fields["code"]) > 32:
            customer_errors["code"] = ["At most 32 characters."]
        elif customer_fields["code"]:
            customer = lookups.customers.get(customer_fields["code"])
            if customer is None:
                customer_errors["code"] = [f"Unknown customer code {customer_fields['code']!r}."]
        if customer_errors:
            errors["customer"] = customer_errors

    lines, line_errors = [], []
    raw_lines = payload.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        errors["lines"] = ["At least one line is required."]
    else:
        products = lookups.products
        for raw in raw_lines:
            problems: dict[str, list[str]] = {}
            if not isinstance(raw, dict):
                line_errors.append({"non_field_errors": ["An object is required."]})
                continue
            sku = _text(raw.get("sku"), 64).upper()
            product = products.get(sku)
            if not sku:
                problems["sku"] = ["This field is required."]
            elif product is None:
                problems["sku"] = [f"Unknown SKU {sku!r}."]
            elif not product.active:
                problems["sku"] = [f"{sku} is no longer sold (inactive)."]
            quantity = _whole(raw.get("quantity"))
            if quantity is None or quantity < 1:
                problems["quantity"] = ["A whole number, 1 or more, is required."]
            elif quantity > MAX_QUANTITY:
                problems["quantity"] = [f"At most {MAX_QUANTITY} per line."]
            price, problem = check_money(
                raw.get("unit_price"), currency or "USD", maximum=MAX_UNIT_PRICE
            )
            if raw.get("unit_price") in (None, ""):
                problems["unit_price"] = ["This field is required."]
            elif problem:
                problems["unit_price"] = [problem]
            line_errors.append(problems)
            if not problems:
                lines.append(LineInput(product, quantity, price))
        if any(line_errors):
            errors["lines"] = line_errors
        elif sum(line.unit_price * line.quantity for line in lines) >= MAX_TOTAL:
            errors["lines"] = [f"The order total must be less than {MAX_TOTAL:f}."]

    payment = None
    raw_payment = payload.get("payment")
    if raw_payment not in (None, {}):
        payment_errors = {}
        if not isinstance(raw_payment, dict):
            payment_errors["non_field_errors"] = ["An object is required."]
        else:
            status = _text(raw_payment.get("status"), 16).lower()
            if status not in PAYMENT_STATUSES:
                payment_errors["status"] = [f"One of: {', '.join(PAYMENT_STATUSES)}."]
            amount, problem = check_money(raw_payment.get("amount", "0"), currency or "USD")
            if problem:
                payment_errors["amount"] = [problem]
            payment = {
                "status": status,
                "amount": amount,
                "reference": _text(raw_payment.get("reference"), 100),
            }
        if payment_errors:
            errors["payment"] = payment_errors

    bill_country = ""
    if isinstance(payload.get("bill_to"), dict):
        bill_country = _text(payload["bill_to"].get("country"), 100).upper()
        if bill_country and bill_country not in countries:
            errors["bill_to"] = {
                "country": [f"{bill_country!r} is not an ISO 3166-1 alpha-2 country code."]
            }

    requested = None
    if payload.get("requested_ship_date") not in (None, ""):
        requested = _parse(parse_date, payload["requested_ship_date"])
        if requested is None:
            errors["requested_ship_date"] = ["An ISO date (YYYY-MM-DD) is required."]
        elif requested < placed_at.date():
            errors["requested_ship_date"] = ["Cannot be before the order date."]

    priority = None
    if payload.get("priority") not in (None, ""):
        priority = _whole(payload.get("priority"))
        if priority is None or not 0 <= priority <= MAX_PRIORITY:
            errors["priority"] = [f"A whole number from 0 to {MAX_PRIORITY} is required."]

    po_number = _text(payload.get("po_number"), 101)
    if len(po_number) > 100:
        errors["po_number"] = ["At most 100 characters."]

    if errors:
        return None, errors
    return (
        CaptureInput(
            channel=channel,
            external_ref=external_ref,
            placed_at=placed_at,
            currency=currency,
            customer=customer,
            customer_fields=customer_fields,
            email=email,
            ship_to=ship_to,
            lines=lines,
            payment=payment,
            bill_country=bill_country,
            requested_ship_date=requested,
            po_number=po_number,
            notes=_text(payload.get("notes"), 5000),
            priority=priority,
        ),
        {},
    )


__all__ = [
    "CaptureInput",
    "LineInput",
    "Lookups",
    "check_money",
    "check_phone",
    "check_postcode",
    "validate_capture",
]
