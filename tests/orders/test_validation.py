"""Capture validation: every rule answers with its field, in API.md's error shape, and a
refused capture writes nothing."""

import pytest

from inventory.models import Reservation
from oms.core.exceptions import ValidationFailed
from oms.core.models import OutboxEvent
from orders.models import Customer, Hold, Order, OrderEvent, OrderLine, Payment
from orders.services import order_capture
from orders.validation import validate_capture
from tests.factories import (
    ChannelFactory,
    LocationFactory,
    ProductFactory,
    order_payload,
    ship_to,
    stocked,
)

pytestmark = pytest.mark.django_db

WRITTEN = (Order, OrderLine, Customer, Payment, Hold, OrderEvent, OutboxEvent, Reservation)
REQUIRED = ["This field is required."]


@pytest.fixture(autouse=True)
def catalog():
    """The web channel, two sellable SKUs with stock, one retired SKU, a closed channel."""
    ChannelFactory(code="web")
    ChannelFactory(code="closed", active=False)
    location = LocationFactory(code="WH-TEST")
    for sku in ("WIDGET-RED", "WIDGET-BLUE"):
        stocked(product=ProductFactory(sku=sku), location=location, quantity=50)
    ProductFactory(sku="OLD-1", active=False)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WRITTEN}


def refused(**overrides) -> dict:
    """Capture a payload with these changes; it must be refused with nothing written.
    Returns the errors."""
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        order_capture(payload=order_payload(**overrides))
    assert counts() == before
    return caught.value.errors


def accepted(**overrides):
    capture, errors = validate_capture(order_payload(**overrides))
    assert errors == {}
    return capture


def line(sku="WIDGET-RED", quantity=2, unit_price="9.99") -> dict:
    return {"sku": sku, "quantity": quantity, "unit_price": unit_price}


def test_the_example_payload_is_valid_and_captured():
    # The baseline every refusal below changes in one place.
    result = order_capture(payload=order_payload())
    assert result.created
    assert result.order.status == Order.Status.ALLOCATED


# -- required fields --------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   "])
@pytest.mark.parametrize("field", ["channel", "external_ref"])
def test_a_missing_top_level_field_is_named(field, value):
    assert refused(**{field: value}) == {field: REQUIRED}


def test_a_field_left_out_entirely_is_required_too():
    payload = order_payload()
    del payload["external_ref"]
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        order_capture(payload=payload)
    assert caught.value.errors == {"external_ref": REQUIRED}
    assert counts() == before


@pytest.mark.parametrize("field", ["name", "line1", "city", "country"])
def test_a_missing_ship_to_field_is_nested_under_ship_to(field):
    assert refused(ship_to=ship_to(**{field: ""})) == {"ship_to": {field: REQUIRED}}
    address = ship_to()
    del address[field]
    assert refused(ship_to=address) == {"ship_to": {field: REQUIRED}}


def test_a_missing_ship_to_is_refused():
    assert refused(ship_to=None) == {
        "ship_to": {"non_field_errors": ["An address object is required."]}
    }


@pytest.mark.parametrize("lines", [None, [], "WIDGET-RED"])
def test_an_order_needs_at_least_one_line(lines):
    assert refused(lines=lines) == {"lines": ["At least one line is required."]}


@pytest.mark.parametrize("field", ["sku", "unit_price"])
def test_a_line_field_left_out_is_named_at_its_line(field):
    incomplete = line()
    del incomplete[field]
    assert refused(lines=[line(), incomplete]) == {"lines": [{}, {field: REQUIRED}]}


def test_several_problems_are_reported_together_each_at_its_field():
    errors = refused(
        channel="nope",
        external_ref="",
        ship_to=ship_to(postcode="ABC"),
        lines=[line(sku="NOPE"), line(quantity=0)],
    )
    assert errors == {
        "channel": ["Unknown or inactive channel 'nope'."],
        "external_ref": REQUIRED,
        "ship_to": {"postcode": ["'ABC' is not a valid US postcode."]},
        "lines": [
            {"sku": ["Unknown SKU 'NOPE'."]},
            {"quantity": ["A whole number, 1 or more, is required."]},
        ],
    }


# -- channel and SKUs -------------------------------------------------------------------


@pytest.mark.parametrize("code", ["nope", "closed"])
def test_an_unknown_or_inactive_channel_is_refused(code):
    assert refused(channel=code) == {"channel": [f"Unknown or inactive channel {code!r}."]}


def test_an_unknown_sku_is_named_at_its_line_as_api_md_shows():
    # API.md: {"lines": [{}, {"sku": ["..."]}]}
    assert refused(lines=[line(), line(sku="NOPE")]) == {
        "lines": [{}, {"sku": ["Unknown SKU 'NOPE'."]}]
    }


def test_an_inactive_sku_is_refused_at_its_line():
    assert refused(lines=[line(), line(sku="OLD-1")]) == {
        "lines": [{}, {"sku": ["OLD-1 is no longer sold (inactive)."]}]
    }


def test_skus_are_matched_without_regard_to_case_or_spaces():
    capture = accepted(lines=[line(sku=" widget-red ")])
    assert capture.lines[0].product.sku == "WIDGET-RED"


# -- quantities and money ---------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, -1, 1.5, 2.0, "2.5", "two", True, None, [2]])
def test_a_quantity_must_be_a_whole_number_of_one_or_more(quantity):
    assert refused(lines=[line(quantity=quantity)]) == {
        "lines": [{"quantity": ["A whole number, 1 or more, is required."]}]
    }


def test_a_quantity_beyond_what_a_line_holds_is_refused():
    assert refused(lines=[line(quantity=10**12)]) == {
        "lines": [{"quantity": ["At most 1000000 per line."]}]
    }


def test_a_quantity_may_come_as_digits_in_a_string():
    assert accepted(lines=[line(quantity="3")]).lines[0].quantity == 3


@pytest.mark.parametrize("price", ["-0.01", "-5"])
def test_a_negative_price_is_refused(price):
    assert refused(lines=[line(unit_price=price)]) == {
        "lines": [{"unit_price": ["Must be 0 or more."]}]
    }


@pytest.mark.parametrize("price", ["abc", "NaN", "Infinity", True])
def test_a_price_must_be_a_decimal_number(price):
    assert refused(lines=[line(unit_price=price)]) == {
        "lines": [{"unit_price": ["A decimal number is required."]}]
    }


def test_a_price_or_total_beyond_what_the_columns_hold_is_refused():
    assert refused(lines=[line(unit_price="1e10")]) == {
        "lines": [{"unit_price": ["Must be less than 10000000000."]}]
    }
    assert refused(lines=[line(quantity=1_000_000, unit_price="9999999.99")]) == {
        "lines": ["The order total must be less than 1000000000000."]
    }


def test_a_free_line_is_fine():
    assert accepted(lines=[line(unit_price="0")]).lines[0].unit_price == 0


@pytest.mark.parametrize(
    ("currency", "price", "payment", "places"),
    [("USD", "9.999", "19.99", 2), ("JPY", "1500.5", "3001", 0), ("JPY", "0.1", "3000", 0)],
)
def test_a_price_may_not_have_more_decimals_than_the_currency(currency, price, payment, places):
    errors = refused(
        currency=currency,
        lines=[line(unit_price=price)],
        payment={"status": "paid", "amount": payment},
    )
    assert errors == {
        "lines": [{"unit_price": [f"{currency} allows at most {places} decimal places."]}]
    }


def test_whole_yen_are_fine_and_decimals_in_the_payment_are_checked_too():
    capture = accepted(
        currency="JPY",
        lines=[line(unit_price="1500")],
        payment={"status": "paid", "amount": "3000"},
    )
    assert capture.currency == "JPY"
    assert refused(
        currency="JPY",
        lines=[line(unit_price="1500")],
        payment={"status": "paid", "amount": "3000.5"},
    ) == {"payment": {"amount": ["JPY allows at most 0 decimal places."]}}


@pytest.mark.parametrize("currency", ["XYZ", "usd dollars", "BTC"])
def test_an_unknown_currency_is_refused(currency):
    errors = refused(currency=currency)
    assert list(errors) == ["currency"]
    assert errors["currency"][0].startswith(f"{currency.upper()!r} is not a currency we sell in")


def test_the_currency_defaults_to_the_channels():
    ChannelFactory(code="uk-web", currency="GBP")
    assert accepted(channel="uk-web", currency=None).currency == "GBP"


def test_a_payment_status_must_be_known():
    assert refused(payment={"status": "maybe", "amount": "19.98"}) == {
        "payment": {"status": ["One of: pending, authorized, paid, failed."]}
    }


# -- address: country, postcode, phone --------------------------------------------------


@pytest.mark.parametrize("country", ["XX", "USA", "U", "12"])
def test_a_country_must_be_an_iso_alpha_2_code(country):
    assert refused(ship_to=ship_to(country=country)) == {
        "ship_to": {"country": [f"{country!r} is not an ISO 3166-1 alpha-2 country code."]}
    }


def test_a_country_in_lower_case_is_accepted():
    assert accepted(ship_to=ship_to(country="us")).ship_to["country"] == "US"


POSTCODES = {
    # country: (good examples, bad examples)
    "US": (["94105", "94105-1234"], ["9410", "941051", "ABCDE", "94105-12"]),
    "CA": (["K1A 0B1", "k1a0b1", "M5V 3L9"], ["D1A 0B1", "K1A 0B", "123456", "K1A-0B1"]),
    "GB": (
        ["SW1A 1AA", "EC1A 1BB", "M1 1AE", "b33 8th", "GIR 0AA"],
        ["SW1A 1A", "12345", "QQ1 1AA"],
    ),
    "DE": (["10115", "80331"], ["1011", "101155", "ABCDE"]),
    "FR": (["75008", "13001"], ["7500", "750080", "75O08"]),
    "NL": (["1012 AB", "1012ab"], ["0123 AB", "1012 A", "10123 AB"]),
    "AU": (["2000", "0800"], ["200", "20000", "ABCD"]),
}


@pytest.mark.parametrize(
    ("country", "postcode"),
    [(country, code) for country, (good, _) in POSTCODES.items() for code in good],
)
def test_a_good_postcode_is_accepted_and_normalised(country, postcode):
    capture = accepted(ship_to=ship_to(country=country, postcode=postcode))
    assert capture.ship_to["postcode"] == " ".join(postcode.upper().split())


@pytest.mark.parametrize(
    ("country", "postcode"),
    [(country, code) for country, (_, bad) in POSTCODES.items() for code in bad],
)
def test_a_bad_postcode_is_refused_naming_the_country(country, postcode):
    assert refused(ship_to=ship_to(country=country, postcode=postcode)) == {
        "ship_to": {"postcode": [f"{postcode!r} is not a valid {country} postcode."]}
    }


@pytest.mark.parametrize("country", ["US", "GB", "JP"])
def test_a_postcode_is_required_where_the_country_uses_them(country):
    assert refused(ship_to=ship_to(country=country, postcode="")) == {
        "ship_to": {"postcode": ["This field is required for this country."]}
    }


@pytest.mark.parametrize("country", ["HK", "AE", "IE"])
def test_no_postcode_is_needed_where_the_country_has_none(country):
    assert accepted(ship_to=ship_to(country=country, postcode="")).ship_to["postcode"] == ""


def test_a_postcode_of_a_country_without_a_pattern_is_taken_as_written():
    assert (
        accepted(ship_to=ship_to(country="JP", postcode="100-0001")).ship_to["postcode"]
        == "100-0001"
    )


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12345", "'12345' is not a valid phone number."),
        ("+1 415 555", "'+1 415 555' is not a valid phone number."),
        ("call me", "'call me' is not a phone number."),
    ],
)
def test_a_bad_ship_to_phone_is_refused(phone, message):
    assert refused(ship_to=ship_to(phone=phone)) == {"ship_to": {"phone": [message]}}


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12345", "'12345' is not a valid phone number."),
        ("not a number", "'not a number' is not a phone number."),
    ],
)
def test_a_bad_customer_phone_is_refused(phone, message):
    customer = {"email": "ana@example.com", "name": "Ana Silva", "phone": phone}
    assert refused(customer=customer) == {"customer": {"phone": [message]}}


def test_a_national_phone_number_is_read_in_the_ship_to_country_and_stored_as_e164():
    capture = accepted(
        ship_to=ship_to(country="GB", postcode="SW1A 1AA", phone="020 7946 0018"),
        customer={"email": "ana@example.com", "name": "Ana", "phone": "020 7946 0018"},
    )
    assert capture.ship_to["phone"] == "+442079460018"
    assert capture.customer_fields["phone"] == "+442079460018"


@pytest.mark.parametrize("field", ["name", "line1", "city", "postcode"])
def test_an_address_field_longer_than_its_column_is_refused_not_cut(field):
    limit = {"name": 200, "line1": 200, "city": 100, "postcode": 20}[field]
    address = ship_to(**{field: "A" * (limit + 1)}, country="JP")
    assert refused(ship_to=address) == {"ship_to": {field: [f"At most {limit} characters."]}}


# -- customer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["ana@", "ana.example.com", "ana@@example.com", "a" * 250 + "@example.com"]
)
def test_a_bad_email_is_refused(email):
    customer = {"email": email, "name": "Ana Silva"}
    assert refused(customer=customer) == {"customer": {"email": ["Enter a valid e-mail address."]}}


def test_an_unknown_customer_code_is_refused():
    assert refused(customer={"code": "NOPE-1"}) == {
        "customer": {"code": ["Unknown customer code 'NOPE-1'."]}
    }


# -- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "placed_at", ["yesterday", "2026-13-01T10:00:00Z", "2026-02-30T10:00:00Z", 12345]
)
def test_a_bad_placed_at_is_refused(placed_at):
    assert refused(placed_at=placed_at) == {"placed_at": ["An ISO 8601 date and time is required."]}


def test_placed_at_keeps_its_time_zone():
    capture = accepted(placed_at="2026-11-20T09:03:00-05:00")
    assert capture.placed_at.isoformat() == "2026-11-20T09:03:00-05:00"


def test_a_requested_ship_date_before_the_order_date_is_refused():
    assert refused(placed_at="2026-11-20T14:03:00Z", requested_ship_date="2026-11-19") == {
        "requested_ship_date": ["Cannot be before the order date."]
    }


@pytest.mark.parametrize("requested", ["next week", "2026-02-30", "2026-11-25T10:00:00Z"])
def test_a_requested_ship_date_must_be_an_iso_date(requested):
    assert refused(requested_ship_date=requested) == {
        "requested_ship_date": ["An ISO date (YYYY-MM-DD) is required."]
    }


def test_a_requested_ship_date_on_or_after_the_order_date_is_fine():
    assert str(accepted(requested_ship_date="2026-11-20").requested_ship_date) == "2026-11-20"


# -- the rest ---------------------------------------------------------------------------


def test_a_billing_country_is_checked_and_never_cut_to_two_letters():
    assert refused(bill_to={"country": "USA"}) == {
        "bill_to": {"country": ["'USA' is not an ISO 3166-1 alpha-2 country code."]}
    }
    assert accepted(bill_to={"country": "gb"}).bill_country == "GB"


@pytest.mark.parametrize("priority", [-1, "high", 10**10])
def test_a_priority_must_be_a_whole_number_in_range(priority):
    assert refused(priority=priority) == {
        "priority": ["A whole number from 0 to 1000000 is required."]
    }


@pytest.mark.parametrize("payload", [None, [], "order", 42])
def test_a_request_that_is_not_an_object_is_refused(payload):
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        order_capture(payload=payload)
    assert caught.value.errors == {"non_field_errors": ["A JSON object is required."]}
    assert counts() == before
