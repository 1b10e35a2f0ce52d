"""factory_boy factories for every app's models. Stock is never set on a factory: it
comes from inventory services, so the ledger stays the truth (use `stocked`)."""

import itertools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from inventory import services as inventory_services
from inventory.models import Bin, Location, Product, StockLevel
from orders.models import Channel, Customer


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.django.Password("pass-word-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ["sku"]

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("catch_phrase")
    weight_grams = 250


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"WH-{n:02d}")
    name = factory.LazyAttribute(lambda loc: f"Warehouse {loc.code}")
    kind = Location.Kind.WAREHOUSE
    country = "US"
    priority = factory.Sequence(lambda n: 10 + n)


class BinFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bin

    location = factory.SubFactory(LocationFactory)
    code = factory.Sequence(lambda n: f"A-{n:03d}")
    zone = "A"
    pick_sequence = factory.Sequence(int)


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ["code"]

    code = "web"
    name = factory.LazyAttribute(lambda c: c.code.title())
    kind = Channel.Kind.WEB
    currency = "USD"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.Faker("email")


def stocked(*, product=None, location=None, quantity: int = 10) -> StockLevel:
    """A stock level holding `quantity`, put there by a ledger receipt."""
    product = product or ProductFactory()
    location = location or LocationFactory()
    inventory_services.stock_move(
        product=product, location=location, quantity=quantity, reason="receipt", reference="TEST"
    )
    return StockLevel.objects.get(product=product, location=location)


_refs = itertools.count(100001)


def order_payload(**overrides) -> dict:
    """A valid capture request (API.md's example shape); override any top-level key."""
    payload = {
        "channel": "web",
        "external_ref": f"WEB-{next(_refs)}",
        "placed_at": "2026-11-20T14:03:00Z",
        "currency": "USD",
        "customer": {"email": "ana@example.com", "name": "Ana Silva", "phone": "+1 415 555 0101"},
        "ship_to": {
            "name": "Ana Silva",
            "company": "",
            "line1": "1 Market St",
            "line2": "",
            "city": "San Francisco",
            "region": "CA",
            "postcode": "94105",
            "country": "US",
            "phone": "+1 415 555 0101",
        },
        "lines": [{"sku": "WIDGET-RED", "quantity": 2, "unit_price": "9.99"}],
        "payment": {"status": "authorized", "amount": "19.98", "reference": "pi_123"},
        "notes": "",
    }
    payload.update(overrides)
    return payload


def captured_order(*, stock: int = 100, **overrides):
    """An order through the real capture service, with a web channel and stock for its
    SKUs at one warehouse (created when missing)."""
    from orders.services import order_capture

    payload = order_payload(**overrides)
    ChannelFactory(code=payload["channel"])
    location = LocationFactory(code="WH-TEST")
    for line in payload["lines"]:
        product = ProductFactory(sku=line["sku"])
        if not StockLevel.objects.filter(product=product, location=location).exists() and stock:
            stocked(product=product, location=location, quantity=stock)
    return order_capture(payload=payload).order


class WholesaleCustomerFactory(CustomerFactory):
    """A wholesale account on net-30 terms, within a credit limit."""

    code = factory.Sequence(lambda n: f"ACCT-{n:03d}")
    kind = Customer.Kind.WHOLESALE
    credit_limit = 1000
    payment_terms_days = 30


def ship_to(**overrides) -> dict:
    """order_payload's ship-to address with some fields changed. Orders of one test that
    should not look alike to the fraud rules (3 to one address within an hour) differ
    in line1 or placed_at."""
    return {**order_payload()["ship_to"], **overrides}
