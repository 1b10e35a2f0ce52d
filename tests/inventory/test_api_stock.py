"""The stock endpoints of API.md "Inventory": GET /stock-levels/, GET /availability/,
POST /stock-adjustments/ and POST /receipts/ -- happy paths, bad input (named field,
nothing written), roles, conflicts, purchase orders, the stock_available signal and
query-count bounds."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from inventory.models import PurchaseOrder, StockLevel, StockMovement, Supplier
from inventory.services import (
    DemandLine,
    OrderLine,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_place,
    stock_allocate,
    transfer_create,
    transfer_dispatch,
)
from inventory.signals import stock_available
from oms.core.roles import roles_setup
from tests.factories import (
    BinFactory,
    ChannelFactory,
    LocationFactory,
    ProductFactory,
    UserFactory,
    stocked,
)

pytestmark = pytest.mark.django_db

LEVELS = "/api/v1/stock-levels/"
AVAILABILITY = "/api/v1/availability/"
ADJUSTMENTS = "/api/v1/stock-adjustments/"
RECEIPTS = "/api/v1/receipts/"


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def roles():
    roles_setup()


def client_for(role: str | None) -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(roles=[role] if role else None))
    return client


@pytest.fixture
def support(roles):
    return client_for("Support")


@pytest.fixture
def inventory(roles):
    return client_for("Inventory")


@pytest.fixture
def warehouse(roles):
    return client_for("Warehouse")


@pytest.fixture
def east():
    return LocationFactory(code="WH-EAST", priority=10)


@pytest.fixture
def west():
    return LocationFactory(code="WH-WEST", priority=20)


@pytest.fixture
def store():
    """A store that sells only for the store channel."""
    return LocationFactory(code="ST-NYC", priority=5, kind="store", channel_codes=["store"])


@pytest.fixture
def red():
    return ProductFactory(sku="WIDGET-RED")


@pytest.fixture
def blue():
    return ProductFactory(sku="WIDGET-BLUE")


def reserve(product, quantity: int) -> None:
    """Hold stock the way orders do (any saved record can own a reservation)."""
    demand = Group.objects.create(name=f"demand-{Group.objects.count()}")
    stock_allocate(lines=[DemandLine(product.pk, quantity, demand)])


def level(product, location) -> StockLevel:
    return StockLevel.objects.get(product=product, location=location)


def ledger() -> tuple:
    """Everything a write could change: the ledger, the levels and their quantities."""
    return (
        StockMovement.objects.count(),
        sorted(StockLevel.objects.values_list("pk", "on_hand", "reserved")),
    )


def supplier() -> Supplier:
    return Supplier.objects.get_or_create(code="ACME", defaults={"name": "Acme"})[0]


def placed_purchase_order(location, *lines, expected_date=None) -> PurchaseOrder:
    purchase_order = purchase_order_create(
        supplier=supplier(),
        location=location,
        lines=[OrderLine(product=product, quantity=quantity) for product, quantity in lines],
        expected_date=expected_date,
    )
    return purchase_order_place(purchase_order=purchase_order)


# -- authentication and roles, every endpoint ---------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", LEVELS), ("get", AVAILABILITY), ("post", ADJUSTMENTS), ("post", RECEIPTS)],
)
def test_no_credentials_is_401(roles, red, east, method, url):
    stocked(product=red, location=east, quantity=5)
    before = ledger()

    response = getattr(APIClient(), method)(
        url, {"sku": "WIDGET-RED", "location": "WH-EAST", "quantity": 1}
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert ledger() == before


@pytest.mark.parametrize(("method", "url"), [("get", LEVELS), ("get", AVAILABILITY)])
def test_a_user_without_a_role_cannot_read_stock(roles, red, method, url):
    response = getattr(client_for(None), method)(url, {"sku": "WIDGET-RED"})

    assert response.status_code == 403


@pytest.mark.parametrize("role", ["Support", "Warehouse", "Inventory", "Finance", "Admin"])
def test_every_role_reads_stock(roles, red, east, role):
    stocked(product=red, location=east)
    client = client_for(role)

    assert client.get(LEVELS).status_code == 200
    assert client.get(AVAILABILITY, {"sku": "WIDGET-RED"}).status_code == 200


@pytest.mark.parametrize(
    ("role", "status"),
    [("Inventory", 201), ("Admin", 201), ("Warehouse", 403), ("Support", 403), ("Finance", 403)],
)
def test_who_may_adjust_stock(roles, red, east, role, status):
    stocked(product=red, location=east, quantity=5)
    before = ledger()

    response = client_for(role).post(
        ADJUSTMENTS, {"sku": "WIDGET-RED", "location": "WH-EAST", "quantity": -1}
    )

    assert response.status_code == status
    if status == 403:
        assert response.json() == {"detail": "You do not have permission to perform this action."}
        assert ledger() == before
    else:
        assert level(red, east).on_hand == 4


@pytest.mark.parametrize(
    ("role", "status"),
    [("Warehouse", 201), ("Inventory", 201), ("Admin", 201), ("Support", 403), ("Finance", 403)],
)
def test_who_may_receive_stock(roles, red, east, role, status):
    before = ledger()

    response = client_for(role).post(
        RECEIPTS, {"location": "WH-EAST", "lines": [{"sku": "WIDGET-RED", "quantity": 3}]}
    )

    assert response.status_code == status
    if status == 403:
        assert ledger() == before
    else:
        assert level(red, east).on_hand == 3


def test_token_authentication_reads_and_writes_without_csrf(roles, red, east):
    stocked(product=red, location=east, quantity=5)
    _, key = AuthToken.objects.create(UserFactory(roles=["Inventory"]))
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.get(LEVELS).json()["results"][0]["on_hand"] == 5
    response = client.post(
        ADJUSTMENTS, {"sku": "WIDGET-RED", "location": "WH-EAST", "quantity": 2}, format="json"
    )

    assert response.status_code == 201
    assert level(red, east).on_hand == 7


# -- GET /stock-levels/ -------------------------------------------------------------------


def test_stock_levels_list(support, red, blue, east, west):
    stocked(product=red, location=east, quantity=10)
    stocked(product=red, location=west, quantity=4)
    stocked(product=blue, location=east, quantity=3)
    reserve(red, 3)  # at WH-EAST, the first by priority
    StockLevel.objects.filter(product=red, location=east).update(safety_stock=2)
    # Safety stock above what is free: available is 0, never negative.
    StockLevel.objects.filter(product=blue, location=east).update(safety_stock=5)

    response = support.get(LEVELS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["results"] == [
        {
            "sku": "WIDGET-BLUE",
            "location": "WH-EAST",
            "on_hand": 3,
            "reserved": 0,
            "safety_stock": 5,
            "available": 0,
        },
        {
            "sku": "WIDGET-RED",
            "location": "WH-EAST",
            "on_hand": 10,
            "reserved": 3,
            "safety_stock": 2,
            "available": 5,
        },
        {
            "sku": "WIDGET-RED",
            "location": "WH-WEST",
            "on_hand": 4,
            "reserved": 0,
            "safety_stock": 0,
            "available": 4,
        },
    ]


def rows(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.json()
    return [(row["sku"], row["location"]) for row in response.json()["results"]]


def test_stock_levels_filter_by_sku_and_location(support, red, blue, east, west):
    green = ProductFactory(sku="WIDGET-GREEN")
    for product in (red, blue, green):
        for location in (east, west):
            stocked(product=product, location=location)

    assert rows(support.get(LEVELS, {"sku": "WIDGET-RED"})) == [
        ("WIDGET-RED", "WH-EAST"),
        ("WIDGET-RED", "WH-WEST"),
    ]
    # Repeated, comma-separated, lower case: the same filter.
    both = [("WIDGET-BLUE", "WH-WEST"), ("WIDGET-RED", "WH-WEST")]
    assert (
        rows(support.get(LEVELS, {"sku": ["WIDGET-RED", "WIDGET-BLUE"], "location": "WH-WEST"}))
        == both
    )
    assert rows(support.get(LEVELS, {"sku": "widget-red,WIDGET-BLUE", "location": "wh-west"})) == (
        both
    )
    assert rows(support.get(f"{LEVELS}?location=WH-EAST&location=WH-WEST&sku=WIDGET-GREEN")) == [
        ("WIDGET-GREEN", "WH-EAST"),
        ("WIDGET-GREEN", "WH-WEST"),
    ]
    assert rows(support.get(LEVELS, {"sku": "NO-SUCH-SKU"})) == []


def test_stock_levels_below_reorder_point(support, red, blue, east, west):
    stocked(product=red, location=east, quantity=10)  # reorder point 8: available 10, above
    stocked(product=red, location=west, quantity=8)  # reorder point 8: at it
    stocked(product=blue, location=east, quantity=10)  # 2 reserved + 3 safety: 5, below 6
    stocked(product=blue, location=west, quantity=1)  # no reorder point: never "below"
    StockLevel.objects.filter(product=red).update(reorder_point=8)
    StockLevel.objects.filter(product=blue, location=east).update(reorder_point=6, safety_stock=3)
    reserve(blue, 2)

    assert rows(support.get(LEVELS, {"below_reorder_point": "true"})) == [
        ("WIDGET-BLUE", "WH-EAST"),
        ("WIDGET-RED", "WH-WEST"),
    ]
    assert rows(support.get(LEVELS, {"below_reorder_point": "false"})) == [
        ("WIDGET-BLUE", "WH-WEST"),
        ("WIDGET-RED", "WH-EAST"),
    ]
    assert rows(support.get(LEVELS, {"below_reorder_point": "true", "location": "WH-EAST"})) == [
        ("WIDGET-BLUE", "WH-EAST")
    ]


def test_stock_levels_below_reorder_point_rejects_garbage(support):
    response = support.get(LEVELS, {"below_reorder_point": "maybe"})

    assert response.status_code == 400
    assert response.json() == {"below_reorder_point": ["Use true or false."]}


def test_stock_levels_are_paginated(support, east):
    for _ in range(3):
        stocked(location=east)

    body = support.get(LEVELS, {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert "page=2" in body["next"]


@pytest.mark.parametrize("page_size", [1, 50, 200])
def test_stock_levels_queries_do_not_grow_with_the_page(
    support, east, west, django_assert_max_num_queries, page_size
):
    for _ in range(100):
        product = ProductFactory()
        stocked(product=product, location=east)
        stocked(product=product, location=west)

    # session, user, user perms, group perms, count, page
    with django_assert_max_num_queries(6):
        response = support.get(LEVELS, {"page_size": page_size})

    assert len(response.json()["results"]) == page_size


# -- GET /availability/ -------------------------------------------------------------------


@pytest.fixture
def channels():
    return ChannelFactory(code="web"), ChannelFactory(code="store", kind="store")


@pytest.fixture
def stock_everywhere(red, blue, east, west, store):
    stocked(product=red, location=east, quantity=6)
    stocked(product=red, location=west, quantity=4)
    stocked(product=red, location=store, quantity=5)
    stocked(product=blue, location=west, quantity=2)
    reserve(red, 1)  # at ST-NYC: first by priority and it serves any channel when none given
    StockLevel.objects.filter(product=red, location=east).update(safety_stock=1)


def test_availability_per_channel(support, channels, stock_everywhere, red, east):
    soon = timezone.localdate() + timedelta(days=5)
    purchase_order = placed_purchase_order(east, (red, 20), expected_date=soon)

    response = support.get(AVAILABILITY, {"sku": ["WIDGET-RED", "WIDGET-BLUE"], "channel": "web"})

    assert response.status_code == 200
    assert response.json() == [
        {
            "sku": "WIDGET-RED",
            # ST-NYC sells only for the store channel.
            "available": 9,
            "locations": {"WH-EAST": 5, "WH-WEST": 4},
            "incoming": [
                {
                    "expected_date": soon.isoformat(),
                    "quantity": 20,
                    "reference": purchase_order.number,
                }
            ],
            "promise_date": timezone.localdate().isoformat(),
        },
        {
            "sku": "WIDGET-BLUE",
            "available": 2,
            "locations": {"WH-WEST": 2},
            "incoming": [],
            "promise_date": timezone.localdate().isoformat(),
        },
    ]


def test_availability_for_the_store_channel_and_for_no_channel(support, channels, stock_everywhere):
    store_channel = support.get(AVAILABILITY, {"sku": "WIDGET-RED", "channel": "store"}).json()
    any_channel = support.get(AVAILABILITY, {"sku": "WIDGET-RED"}).json()

    expected = {"ST-NYC": 4, "WH-EAST": 5, "WH-WEST": 4}
    assert store_channel[0]["locations"] == expected
    assert store_channel[0]["available"] == 13
    assert any_channel == store_channel


def test_availability_promise_date_for_a_quantity(support, channels, red, blue, east, west):
    stocked(product=red, location=east, quantity=3)
    soon = timezone.localdate() + timedelta(days=3)
    later = timezone.localdate() + timedelta(days=10)
    purchase_order = placed_purchase_order(east, (red, 5), expected_date=later)
    stocked(product=red, location=west, quantity=4)
    transfer = transfer_create(
        from_location=west, to_location=east, lines=[OrderLine(red, 4)], expected_date=soon
    )
    transfer_dispatch(transfer=transfer)

    def promise(quantity):
        response = support.get(
            AVAILABILITY, {"sku": "WIDGET-RED", "channel": "web", "quantity": quantity}
        )
        assert response.status_code == 200, response.json()
        return response.json()[0]

    first = promise(1)
    assert first["available"] == 3
    assert [item["expected_date"] for item in first["incoming"]] == [
        soon.isoformat(),
        later.isoformat(),
    ]
    assert [item["reference"] for item in first["incoming"]] == [
        transfer.number,
        purchase_order.number,
    ]
    assert promise(3)["promise_date"] == timezone.localdate().isoformat()
    assert promise(7)["promise_date"] == soon.isoformat()
    assert promise(12)["promise_date"] == later.isoformat()
    assert promise(13)["promise_date"] is None


def test_availability_skus_repeated_comma_separated_and_lower_case(support, channels, red, blue):
    response = support.get(f"{AVAILABILITY}?sku=widget-blue,WIDGET-RED&sku=WIDGET-BLUE")

    assert response.status_code == 200
    assert [row["sku"] for row in response.json()] == ["WIDGET-BLUE", "WIDGET-RED"]
    assert response.json()[0] == {
        "sku": "WIDGET-BLUE",
        "available": 0,
        "locations": {},
        "incoming": [],
        "promise_date": None,
    }


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"sku": "NOPE"}, {"sku": ["Unknown SKU: NOPE"]}),
        (
            {"sku": ["WIDGET-RED", "NOPE", "ALSO-NOPE"]},
            {"sku": ["Unknown SKU: NOPE", "Unknown SKU: ALSO-NOPE"]},
        ),
        ({"sku": "WIDGET-RED", "channel": "nope"}, {"channel": ["Unknown channel: nope"]}),
        ({}, {"sku": ["This field is required."]}),
        ({"sku": ","}, {"sku": ["At least one SKU is required."]}),
        (
            {"sku": "WIDGET-RED", "quantity": "0"},
            {"quantity": ["Ensure this value is greater than or equal to 1."]},
        ),
        ({"sku": "WIDGET-RED", "quantity": "many"}, {"quantity": ["A valid integer is required."]}),
        (
            {"sku": [f"SKU-{n}" for n in range(101)]},
            {"sku": ["At most 100 SKUs per call; 101 were given."]},
        ),
        (
            {"sku": ",".join(f"SKU-{n}" for n in range(101))},
            {"sku": ["At most 100 SKUs per call; 101 were given."]},
        ),
    ],
)
def test_availability_bad_input_is_400_naming_the_field(support, channels, red, params, errors):
    response = support.get(AVAILABILITY, params)

    assert response.status_code == 400
    assert response.json() == errors


def test_availability_accepts_100_skus(support, channels):
    skus = [ProductFactory().sku for _ in range(100)]

    response = support.get(AVAILABILITY, {"sku": skus})

    assert response.status_code == 200
    assert [row["sku"] for row in response.json()] == skus


def test_availability_queries_do_not_grow_with_the_skus(support, channels, east, west):
    products = [ProductFactory() for _ in range(100)]
    for product in products:
        stocked(product=product, location=east)
        stocked(product=product, location=west)
    placed_purchase_order(east, *[(product, 5) for product in products])

    def queries(n: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = support.get(
                AVAILABILITY, {"sku": [p.sku for p in products[:n]], "channel": "web"}
            )
        assert response.status_code == 200
        assert len(response.json()) == n
        return len(captured)

    one = queries(1)
    assert queries(100) == one
    # session, user, user perms, group perms; products, channel, locations; levels,
    # purchase order lines, transfers
    assert one <= 10


# -- POST /stock-adjustments/ -------------------------------------------------------------


def test_adjust_by_a_delta(roles, red, east):
    stocked(product=red, location=east, quantity=10)
    shelf = BinFactory(location=east, code="A-01")
    user = UserFactory(roles=["Inventory"])
    client = APIClient()
    client.force_login(user)

    response = client.post(
        ADJUSTMENTS,
        {
            "sku": "WIDGET-RED",
            "location": "WH-EAST",
            "quantity": -3,
            "reason": "adjustment",
            "reference": "DMG-7",
            "note": "crushed in the aisle",
            "bin": "A-01",
        },
    )

    assert response.status_code == 201
    movement = StockMovement.objects.get(reference="DMG-7")
    body = response.json()
    assert body == {
        "id": movement.pk,
        "sku": "WIDGET-RED",
        "location": "WH-EAST",
        "quantity": -3,
        "on_hand_after": 7,
        "reason": "adjustment",
        "reference": "DMG-7",
        "at": body["at"],
    }
    assert body["at"].endswith("Z") or "+" in body["at"]
    assert level(red, east).on_hand == 7
    assert (movement.actor, movement.bin, movement.note) == (user, shelf, "crushed in the aisle")


def test_adjust_to_a_counted_value(inventory, red, east):
    stocked(product=red, location=east, quantity=10)

    response = inventory.post(
        ADJUSTMENTS,
        {"sku": "WIDGET-RED", "location": "WH-EAST", "on_hand": 12, "reason": "count"},
    )

    assert response.status_code == 201
    assert response.json()["quantity"] == 2
    assert response.json()["on_hand_after"] == 12
    assert response.json()["reason"] == "count"
    assert level(red, east).on_hand == 12


def test_adjust_a_product_with_no_stock_level_yet(inventory, red, east):
    response = inventory.post(
        ADJUSTMENTS, {"sku": "WIDGET-RED", "location": "WH-EAST", "on_hand": 4, "reason": "count"}
    )

    assert response.status_code == 201
    assert level(red, east).on_hand == 4


def test_a_count_equal_to_on_hand_changes_nothing(inventory, red, east):
    stocked(product=red, location=east, quantity=10)
    before = ledger()

    response = inventory.post(
        ADJUSTMENTS, {"sku": "WIDGET-RED", "location": "WH-EAST", "on_hand": 10}
    )

    assert response.status_code == 200
    assert response.json() == {
        "detail": "No change",
        "sku": "WIDGET-RED",
        "location": "WH-EAST",
        "on_hand": 10,
    }
    assert ledger() == before


def test_a_return_adds_stock_back(inventory, red, east):
    stocked(product=red, location=east, quantity=1)

    response = inventory.post(
        ADJUSTMENTS,
        {"sku": "widget-red", "location": "wh-east", "quantity": 1, "reason": "return"},
    )

    assert response.status_code == 201
    assert response.json()["reason"] == "return"
    assert level(red, east).on_hand == 2


def test_below_reserved_is_409_and_changes_nothing(inventory, red, east):
    stocked(product=red, location=east, quantity=10)
    reserve(red, 6)
    before = ledger()

    for body in ({"quantity": -5}, {"on_hand": 5}):
        response = inventory.post(ADJUSTMENTS, {"sku": "WIDGET-RED", "location": "WH-EAST", **body})

        assert response.status_code == 409
        answer = response.json()
        assert answer["code"] == "conflict"
        assert "WIDGET-RED" in answer["detail"]
        assert "WH-EAST" in answer["detail"]
        assert "6 reserved" in answer["detail"]
        assert (answer["on_hand"], answer["reserved"]) == (10, 6)
    assert ledger() == before


def test_an_idempotency_key_header_is_accepted(inventory, red, east):
    stocked(product=red, location=east, quantity=10)

    response = inventory.post(
        ADJUSTMENTS,
        {"sku": "WIDGET-RED", "location": "WH-EAST", "quantity": 1},
        headers={"Idempotency-Key": "4b7c0f0e-1"},
    )

    assert response.status_code == 201


EITHER = "Give exactly one of quantity (a signed change) or on_hand (a count)."


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"sku": "NOPE"}, {"sku": ["Unknown SKU: NOPE"]}),
        ({"sku": ""}, {"sku": ["This field may not be blank."]}),
        ({"location": "NOWHERE"}, {"location": ["Unknown location: NOWHERE"]}),
        ({"bin": "Z-99"}, {"bin": ["No active bin Z-99 at WH-EAST."]}),
        ({"bin": "W-01"}, {"bin": ["No active bin W-01 at WH-EAST."]}),  # a bin at WH-WEST
        ({"bin": "A-02"}, {"bin": ["No active bin A-02 at WH-EAST."]}),  # inactive
        ({"quantity": 0}, {"quantity": ["A change of 0 changes nothing."]}),
        ({"quantity": "two"}, {"quantity": ["A valid integer is required."]}),
        ({"quantity": None}, {"quantity": [EITHER], "on_hand": [EITHER]}),
        ({"on_hand": 3}, {"quantity": [EITHER], "on_hand": [EITHER]}),
        (
            {"quantity": None, "on_hand": -1},
            {"on_hand": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"reason": "receipt"}, {"reason": ['"receipt" is not a valid choice.']}),
        ({"reason": "shipment"}, {"reason": ['"shipment" is not a valid choice.']}),
        ({"reason": "transfer"}, {"reason": ['"transfer" is not a valid choice.']}),
        (
            {"reference": "R" * 101},
            {"reference": ["Ensure this field has no more than 100 characters."]},
        ),
    ],
)
def test_adjustment_bad_input_names_its_field_and_writes_nothing(
    inventory, red, east, west, change, errors
):
    stocked(product=red, location=east, quantity=10)
    BinFactory(location=east, code="A-01")
    BinFactory(location=east, code="A-02", active=False)
    BinFactory(location=west, code="W-01")
    before = ledger()
    body = {"sku": "WIDGET-RED", "location": "WH-EAST", "quantity": -2, **change}

    response = inventory.post(ADJUSTMENTS, body)

    assert response.status_code == 400
    assert response.json() == errors
    assert ledger() == before


def test_adjustment_with_missing_fields(inventory):
    response = inventory.post(ADJUSTMENTS, {})

    assert response.status_code == 400
    assert response.json() == {
        "sku": ["This field is required."],
        "location": ["This field is required."],
    }


# -- POST /receipts/ ----------------------------------------------------------------------


def test_free_receipt(roles, red, blue, east):
    stocked(product=red, location=east, quantity=2)
    shelf = BinFactory(location=east, code="A-01")
    user = UserFactory(roles=["Warehouse"])
    client = APIClient()
    client.force_login(user)

    response = client.post(
        RECEIPTS,
        {
            "location": "WH-EAST",
            "reference": "DN-5521",
            "lines": [
                {"sku": "WIDGET-RED", "quantity": 5, "bin": "A-01"},
                {"sku": "widget-blue", "quantity": 3},
            ],
        },
    )

    assert response.status_code == 201
    assert response.json() == {
        "location": "WH-EAST",
        "reference": "DN-5521",
        "purchase_order": None,
        "lines": [
            {"sku": "WIDGET-RED", "quantity": 5, "on_hand_after": 7},
            {"sku": "WIDGET-BLUE", "quantity": 3, "on_hand_after": 3},
        ],
    }
    assert (level(red, east).on_hand, level(blue, east).on_hand) == (7, 3)
    movements = StockMovement.objects.filter(reference="DN-5521").order_by("pk")
    assert [(m.reason, m.quantity, m.bin, m.actor) for m in movements] == [
        ("receipt", 5, shelf, user),
        ("receipt", 3, None, user),
    ]


def test_receipt_against_a_purchase_order_updates_it(warehouse, red, blue, east):
    purchase_order = placed_purchase_order(east, (red, 10), (blue, 4))

    first = warehouse.post(
        RECEIPTS,
        {
            "location": "WH-EAST",
            "purchase_order": purchase_order.number,
            "lines": [{"sku": "WIDGET-RED", "quantity": 4}],
        },
    )

    assert first.status_code == 201
    assert first.json()["reference"] == purchase_order.number
    assert first.json()["purchase_order"] == purchase_order.number
    purchase_order = PurchaseOrder.objects.get(pk=purchase_order.pk)  # status is protected
    assert purchase_order.status == PurchaseOrder.Status.PARTIALLY_RECEIVED
    received = dict(purchase_order.lines.values_list("product__sku", "quantity_received"))
    assert received == {"WIDGET-RED": 4, "WIDGET-BLUE": 0}

    rest = warehouse.post(
        RECEIPTS,
        {
            "location": "WH-EAST",
            "reference": "DN-2",
            "purchase_order": purchase_order.number,
            "lines": [{"sku": "WIDGET-RED", "quantity": 6}, {"sku": "WIDGET-BLUE", "quantity": 4}],
        },
    )

    assert rest.status_code == 201
    assert rest.json()["reference"] == "DN-2"
    purchase_order = PurchaseOrder.objects.get(pk=purchase_order.pk)  # status is protected
    assert purchase_order.status == PurchaseOrder.Status.RECEIVED
    assert (level(red, east).on_hand, level(blue, east).on_hand) == (10, 4)


@pytest.mark.parametrize(
    ("lines", "errors"),
    [
        (
            [{"sku": "WIDGET-GREEN", "quantity": 1}],
            {"lines": [{"sku": ["WIDGET-GREEN is not on {po}."]}]},
        ),
        (
            [{"sku": "WIDGET-RED", "quantity": 11}],
            {"lines": [{"quantity": ["Only 10 of WIDGET-RED are still open."]}]},
        ),
        (
            [{"sku": "WIDGET-RED", "quantity": 6}, {"sku": "WIDGET-RED", "quantity": 6}],
            {
                "lines": [
                    {},
                    {
                        "sku": [
                            "WIDGET-RED is on line 1 already: "
                            "receive a purchase order's SKU on one line."
                        ]
                    },
                ]
            },
        ),
    ],
)
def test_receipt_against_a_purchase_order_refuses_what_it_does_not_list(
    warehouse, red, east, lines, errors
):
    ProductFactory(sku="WIDGET-GREEN")
    purchase_order = placed_purchase_order(east, (red, 10))
    before = ledger()

    response = warehouse.post(
        RECEIPTS,
        {"location": "WH-EAST", "purchase_order": purchase_order.number, "lines": lines},
    )

    assert response.status_code == 400
    expected = str(errors).replace("{po}", purchase_order.number)
    assert str(response.json()) == expected
    assert ledger() == before
    purchase_order = PurchaseOrder.objects.get(pk=purchase_order.pk)  # status is protected
    assert purchase_order.status == PurchaseOrder.Status.ORDERED
    assert list(purchase_order.lines.values_list("quantity_received", flat=True)) == [0]


def test_receipt_against_a_purchase_order_for_another_location(warehouse, red, east, west):
    purchase_order = placed_purchase_order(west, (red, 10))
    before = ledger()

    response = warehouse.post(
        RECEIPTS,
        {
            "location": "WH-EAST",
            "purchase_order": purchase_order.number,
            "lines": [{"sku": "WIDGET-RED", "quantity": 1}],
        },
    )

    assert response.status_code == 400
    assert response.json() == {"location": [f"{purchase_order.number} is for WH-WEST."]}
    assert ledger() == before


def test_receipt_against_a_cancelled_purchase_order_is_409(warehouse, red, east):
    purchase_order = purchase_order_cancel(purchase_order=placed_purchase_order(east, (red, 10)))
    before = ledger()

    response = warehouse.post(
        RECEIPTS,
        {
            "location": "WH-EAST",
            "purchase_order": purchase_order.number,
            "lines": [{"sku": "WIDGET-RED", "quantity": 1}],
        },
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "illegal_transition"
    assert body["status"] == "cancelled"
    assert purchase_order.number in body["detail"]
    assert ledger() == before


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"location": "NOWHERE"}, {"location": ["Unknown location: NOWHERE"]}),
        ({"location": "WH-OLD"}, {"location": ["WH-OLD is inactive."]}),
        (
            {"purchase_order": "PO-999999"},
            {"purchase_order": ["Unknown purchase order: PO-999999"]},
        ),
        ({"lines": []}, {"lines": ["At least one line is required."]}),
        ({"lines": None}, {"lines": ["This field may not be null."]}),
        ({"lines": "WIDGET-RED"}, {"lines": ['Expected a list of items but got type "str".']}),
        (
            {"lines": [{"sku": "WIDGET-RED", "quantity": 1}] * 501},
            {"lines": ["At most 500 lines per receipt."]},
        ),
        (
            {"lines": [{"sku": "WIDGET-RED", "quantity": 1}, "WIDGET-BLUE"]},
            {
                "lines": [
                    {},
                    {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
                ]
            },
        ),
        (
            {"reference": "R" * 101},
            {"reference": ["Ensure this field has no more than 100 characters."]},
        ),
        (
            {"lines": [{"sku": "WIDGET-RED", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]},
            {"lines": [{}, {"sku": ["Unknown SKU: NOPE"]}]},
        ),
        (
            {
                "lines": [
                    {"sku": "WIDGET-RED", "quantity": 0},
                    {"sku": "WIDGET-BLUE", "quantity": 1},
                ]
            },
            {"lines": [{"quantity": ["Ensure this value is greater than or equal to 1."]}, {}]},
        ),
        (
            {"lines": [{"sku": "WIDGET-RED", "quantity": 1}, {"sku": "WIDGET-BLUE"}]},
            {"lines": [{}, {"quantity": ["This field is required."]}]},
        ),
        (
            {"lines": [{"sku": "WIDGET-RED", "quantity": 1, "bin": "Z-99"}]},
            {"lines": [{"bin": ["No active bin Z-99 at WH-EAST."]}]},
        ),
        (
            # Every line's problems at once.
            {
                "lines": [
                    {"sku": "WIDGET-RED", "quantity": 1},
                    {"sku": "NOPE", "quantity": 1, "bin": "Z-99"},
                    {"sku": "WIDGET-BLUE", "quantity": 1, "bin": "Z-98"},
                ]
            },
            {
                "lines": [
                    {},
                    {"sku": ["Unknown SKU: NOPE"], "bin": ["No active bin Z-99 at WH-EAST."]},
                    {"bin": ["No active bin Z-98 at WH-EAST."]},
                ]
            },
        ),
        (
            {"lines": [{"sku": "WIDGET-RED", "quantity": 1}, {"sku": "OLD-1", "quantity": 1}]},
            {"lines": [{}, {"sku": ["OLD-1 is inactive."]}]},
        ),
    ],
)
def test_receipt_bad_input_names_its_field_and_writes_nothing(
    warehouse, red, blue, east, change, errors
):
    LocationFactory(code="WH-OLD", active=False)
    ProductFactory(sku="OLD-1", active=False)
    stocked(product=red, location=east, quantity=2)
    before = ledger()
    body = {
        "location": "WH-EAST",
        "reference": "DN-1",
        "lines": [{"sku": "WIDGET-RED", "quantity": 5}, {"sku": "WIDGET-BLUE", "quantity": 1}],
        **change,
    }

    response = warehouse.post(RECEIPTS, body)

    assert response.status_code == 400
    assert response.json() == errors
    assert ledger() == before


def test_receipt_with_missing_fields(warehouse):
    response = warehouse.post(RECEIPTS, {})

    assert response.status_code == 400
    assert response.json() == {
        "location": ["This field is required."],
        "lines": ["This field is required."],
    }


@pytest.fixture
def announced():
    """What stock_available sent: (product_ids, location_id) per send."""
    sent = []

    def receiver(sender, product_ids, location_id, **kwargs):
        sent.append((product_ids, location_id))

    stock_available.connect(receiver)
    yield sent
    stock_available.disconnect(receiver)


def test_a_receipt_announces_the_stock_after_commit(
    warehouse, red, east, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = warehouse.post(
            RECEIPTS, {"location": "WH-EAST", "lines": [{"sku": "WIDGET-RED", "quantity": 5}]}
        )
        assert response.status_code == 201
        assert announced == []  # not before the commit

    assert announced == [([red.pk], east.pk)]


def test_a_receipt_of_several_skus_announces_each_of_them(
    warehouse, red, blue, east, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = warehouse.post(
            RECEIPTS,
            {
                "location": "WH-EAST",
                "lines": [
                    {"sku": "WIDGET-RED", "quantity": 5},
                    {"sku": "WIDGET-BLUE", "quantity": 1},
                ],
            },
        )
        assert response.status_code == 201
        assert announced == []

    assert {location for _, location in announced} == {east.pk}
    assert sorted(pk for ids, _ in announced for pk in ids) == sorted([red.pk, blue.pk])


def test_a_refused_receipt_announces_nothing(
    warehouse, red, east, announced, django_capture_on_commit_callbacks
):
    ProductFactory(sku="OLD-1", active=False)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = warehouse.post(
            RECEIPTS,
            {
                "location": "WH-EAST",
                "lines": [{"sku": "WIDGET-RED", "quantity": 5}, {"sku": "OLD-1", "quantity": 1}],
            },
        )

    assert response.status_code == 400
    assert callbacks == []
    assert announced == []
