"""The orders console: every button, edit page and bulk action calls its service and
changes state as the service says; refusals are messages that change nothing; each role
gets what it may do and a 403 for the rest; the phone order form captures through the
same service as the API and shows the service's errors on the fields they name; search
finds orders by SKU, e-mail and external ref; lists do not grow in queries with rows."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.invariants import violations
from inventory.models import StockLevel
from oms.core import roles
from orders.models import Channel, Hold, Order, OrderEvent
from orders.services import order_hold
from orders.services.common import lock_order, move
from tests.factories import (
    ChannelFactory,
    LocationFactory,
    ProductFactory,
    captured_order,
    order_payload,
    stocked,
)

pytestmark = pytest.mark.django_db

S = Order.Status
# What Support needs in the console: the role grants exactly these (checked below), and
# the support login names them so each test states the rights it exercises.
SUPPORT_RIGHTS = (
    "orders.capture_order",
    "orders.hold_order",
    "orders.cancel_order",
    "orders.edit_order",
)


def test_the_support_role_grants_what_the_console_needs():
    from django.contrib.auth.models import Group

    support = Group.objects.get(name=roles.SUPPORT)
    granted = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in support.permissions.select_related("content_type")
    }
    assert set(SUPPORT_RIGHTS) <= granted
    assert "orders.change_order" not in granted


@pytest.fixture(autouse=True)
def role_groups():
    roles.roles_setup()


@pytest.fixture(autouse=True)
def consistent():
    yield
    assert list(violations()) == []


@pytest.fixture
def support(login):
    return login(roles.SUPPORT, *SUPPORT_RIGHTS)


def url(name: str, *args) -> str:
    return reverse(f"admin:orders_{name}", args=args)


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def fresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def dialog(client, path: str, data: dict | None = None, *, htmx: bool = False):
    """Submit an unfold action dialog the way its modal does."""
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(path, {"_form_submitted": "on", **(data or {})}, headers=headers)


def paid(amount: str = "500.00") -> dict:
    return {"status": "paid", "amount": amount, "reference": "pi_cover"}


def pending() -> dict:
    return {"status": "pending", "amount": "0", "reference": ""}


def address(n: int) -> dict:
    """A ship-to of its own, so many orders in one test do not look alike to fraud rules."""
    return {**order_payload()["ship_to"], "line1": f"{n} Market St"}


def in_fulfilment(order: Order) -> Order:
    move(lock_order(order), "release_to_warehouse", system="test")
    return fresh(order)


def state(order: Order) -> tuple:
    """What a refused request must leave as it was."""
    order = fresh(order)
    return (
        order.status,
        order.total,
        order.events.count(),
        order.holds.filter(resolved_at__isnull=True).count(),
        list(order.lines.values_list("quantity", "quantity_reserved", "quantity_cancelled")),
    )


# -- the changelist -------------------------------------------------------------------------


def test_changelist_shows_the_order_columns(client, support):
    held = captured_order(payment=pending(), ship_to=address(1))
    allocated = captured_order(payment=paid(), ship_to=address(2))

    response = client.get(url("order_changelist"))

    assert response.status_code == 200
    html = response.content.decode()
    for order in (held, allocated):
        assert order.number in html
        assert order.external_ref in html
    assert "On hold" in html and "Allocated" in html
    assert "Unpaid" in html and "Paid" in html
    assert "19.98 USD" in html
    assert "pause_circle" in html  # the open holds badge
    assert "ana@example.com" in html


def test_an_order_past_its_ship_by_is_highlighted_until_it_is_done(client, support):
    late = captured_order(payment=paid(), ship_to=address(1))
    Order.objects.filter(pk=late.pk).update(ship_by=timezone.now() - timedelta(hours=2))

    assert "Overdue: past its ship-by" in client.get(url("order_changelist")).content.decode()

    client.post(
        url("order_cancel_order", late.pk), {"_form_submitted": "on", "reason": "customer asked"}
    )
    assert fresh(late).status == S.CANCELLED
    assert "Overdue" not in client.get(url("order_changelist")).content.decode()


def _orders(count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        captured_order(
            payment=pending() if n % 3 == 0 else paid(),
            ship_to=address(n),
            customer={"email": f"c{n}@example.com", "name": f"Customer {n}"},
            lines=[
                {"sku": "WIDGET-RED", "quantity": 1, "unit_price": "9.99"},
                {"sku": "WIDGET-BLUE", "quantity": 1, "unit_price": "9.99"},
            ],
        )


@pytest.mark.parametrize(
    "query",
    ["", "?q=WIDGET", "?open_hold=yes", "?status__exact=allocated&payment_status__exact=paid"],
)
def test_the_changelist_costs_the_same_queries_for_5_or_50_orders(
    client, support, django_assert_max_num_queries, query
):
    _orders(5)
    with CaptureQueriesContext(connection) as five:
        assert client.get(url("order_changelist") + query).status_code == 200
    _orders(45, start=5)
    with django_assert_max_num_queries(len(five.captured_queries)):
        response = client.get(url("order_changelist") + query)
    assert response.status_code == 200
    assert len(five.captured_queries) <= 15


def test_the_holds_queue_costs_the_same_queries_for_5_or_50_holds(
    client, support, django_assert_max_num_queries
):
    _orders(15)  # every third order waits for payment: 5 holds
    with CaptureQueriesContext(connection) as five:
        assert client.get(url("hold_changelist")).status_code == 200
    _orders(135, start=15)
    assert Hold.objects.count() == 50
    with django_assert_max_num_queries(len(five.captured_queries)):
        assert client.get(url("hold_changelist")).status_code == 200


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("GADGET-GREEN", True),  # a SKU on the order's second line
        ("gadget-gr", True),
        ("ana.cruz@example.com", True),  # the e-mail
        ("WEB-ANA-7", True),  # the external ref
        ("NOTHING-LIKE-IT", False),
    ],
)
def test_search_finds_an_order_by_sku_email_and_external_ref_once(client, support, term, found):
    order = captured_order(
        external_ref="WEB-ANA-7",
        customer={"email": "ana.cruz@example.com", "name": "Ana Cruz"},
        lines=[
            {"sku": "GADGET-GREEN", "quantity": 1, "unit_price": "5.00"},
            {"sku": "GADGET-GREEN-XL", "quantity": 1, "unit_price": "5.00"},
        ],
        payment=paid(),
    )
    other = captured_order(ship_to=address(9), payment=paid())

    response = client.get(url("order_changelist"), {"q": term})

    results = list(response.context["cl"].result_list)
    assert results == ([order] if found else [])  # two matching lines: still one row
    assert other not in results


def test_search_by_order_number(client, support):
    order = captured_order(payment=paid())
    response = client.get(url("order_changelist"), {"q": order.number})
    assert list(response.context["cl"].result_list) == [order]


def test_filters_status_channel_payment_placed_and_open_hold(client, support):
    held = captured_order(payment=pending(), ship_to=address(1))
    ChannelFactory(code="phone", kind=Channel.Kind.PHONE)
    by_phone = captured_order(
        channel="phone", payment=paid(), ship_to=address(2), placed_at="2026-10-01T09:00:00Z"
    )

    def found(**params) -> list[Order]:
        response = client.get(url("order_changelist"), params)
        assert response.status_code == 200
        return list(response.context["cl"].result_list)

    assert found(status__exact="on_hold") == [held]
    assert found(open_hold="yes") == [held]
    assert found(open_hold="no") == [by_phone]
    assert found(channel__id__exact=by_phone.channel_id) == [by_phone]
    assert found(payment_status__exact="paid") == [by_phone]
    assert found(placed_at_from="2026-10-01", placed_at_to="2026-10-01") == [by_phone]
    assert found(placed_at_from="2026-11-01") == [held]


# -- the order page ---------------------------------------------------------------------------


def test_the_order_page_is_a_read_only_record_with_inlines_and_timeline(client, support):
    order = captured_order(payment=paid())
    order_hold(order=order, kind="manual", reason="customer wants to add an item", actor=None)

    response = client.get(url("order_change", order.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="_save"' not in html  # nothing to save: changes are buttons
    assert 'data-testid="order-timeline"' in html
    for event in fresh(order).events.all():
        assert event.message.split(":")[0] in html
    assert "WIDGET-RED" in html  # the lines inline
    assert "customer wants to add an item" in html  # the holds inline
    assert "pi_cover" in html  # the payments inline
    assert url("order_history", order.pk) in html
    for button in (
        "order_hold_order",
        "order_resolve_hold",
        "order_cancel_order",
        "order_edit_lines",
    ):
        assert url(button, order.pk) in html, button
    assert client.get(url("order_history", order.pk)).status_code == 200


def test_buttons_follow_the_status(client, support):
    order = in_fulfilment(captured_order(payment=paid()))
    html = client.get(url("order_change", order.pk)).content.decode()
    assert url("order_cancel_order", order.pk) in html  # before the first shipment leaves
    for hidden in (
        "order_hold_order",
        "order_resolve_hold",
        "order_edit_lines",
        "order_edit_address",
    ):
        assert url(hidden, order.pk) not in html, hidden


# -- buttons ----------------------------------------------------------------------------------


def test_hold_button_opens_a_hold(client, support):
    order = captured_order(payment=paid())
    assert "Hold order" in client.get(url("order_hold_order", order.pk)).content.decode()

    response = dialog(
        client,
        url("order_hold_order", order.pk),
        {"kind": "address", "reason": "Gate code missing"},
    )

    assert response.status_code == 302
    assert response["Location"] == url("order_change", order.pk)
    order = fresh(order)
    assert order.status == S.ON_HOLD
    hold = order.holds.get()
    assert (hold.kind, hold.reason, hold.opened_by) == ("address", "Gate code missing", support)
    assert order.lines.get().quantity_reserved == 2  # the stock is kept
    assert any("is on hold (address): Gate code missing" in t for t in texts(response))


def test_dialogs_answer_htmx_with_a_redirect_header(client, support):
    order = captured_order(payment=paid())
    response = dialog(
        client, url("order_hold_order", order.pk), {"kind": "manual", "reason": "x"}, htmx=True
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == url("order_change", order.pk)


def test_a_dialog_without_a_reason_changes_nothing(client, support):
    order = captured_order(payment=paid())
    before = state(order)

    response = dialog(client, url("order_cancel_order", order.pk), {"reason": "  "})

    assert response.status_code == 200  # the dialog again, with the error
    assert "This field is required" in response.content.decode()
    assert state(order) == before


def test_resolve_hold_button_lets_the_order_go_on(client, support):
    order = captured_order(payment=pending())
    hold = order.holds.get()
    assert order.status == S.ON_HOLD
    assert "Awaiting payment" in client.get(url("order_resolve_hold", order.pk)).content.decode()

    response = dialog(
        client, url("order_resolve_hold", order.pk), {"hold": hold.pk, "note": "bank transfer in"}
    )

    assert response.status_code == 302
    hold.refresh_from_db()
    assert (hold.resolved_by, hold.resolution_note) == (support, "bank transfer in")
    order = fresh(order)
    assert order.status == S.ALLOCATED
    assert order.lines.get().quantity_reserved == 2
    assert any("the order is allocated" in t for t in texts(response))


def test_cancel_button_cancels_and_releases_stock(client, support):
    order = captured_order(payment=paid())
    level = StockLevel.objects.get(product__sku="WIDGET-RED")
    assert level.reserved == 2

    response = dialog(
        client, url("order_cancel_order", order.pk), {"reason": "Customer changed mind"}
    )

    assert response.status_code == 302
    assert fresh(order).status == S.CANCELLED
    level.refresh_from_db()
    assert level.reserved == 0
    assert texts(response) == [f"{order.number} cancelled."]
    event = OrderEvent.objects.filter(order=order, kind="status_changed").last()
    assert event.actor == support
    assert "Customer changed mind" in event.message


@pytest.mark.parametrize(
    ("button", "data", "refusal"),
    [
        ("order_cancel_order", {"reason": "too late"}, "can no longer be cancelled"),
        ("order_hold_order", {"kind": "manual", "reason": "too late"}, "can no longer be held"),
    ],
)
def test_refused_transitions_are_messages_that_change_nothing(
    client, support, button, data, refusal
):
    order = captured_order(payment=paid())
    dialog(client, url("order_cancel_order", order.pk), {"reason": "first"})
    before = state(order)

    response = dialog(client, url(button, order.pk), data)

    assert response.status_code == 302
    assert refusal in texts(response)[-1]
    assert state(order) == before


def test_cancel_is_refused_once_shipped(client, support):
    order = in_fulfilment(captured_order(payment=paid()))
    order = lock_order(order)
    move(order, "ship", system="test")
    before = state(order)

    response = dialog(client, url("order_cancel_order", order.pk), {"reason": "too late"})

    assert "can no longer be cancelled" in texts(response)[0]
    assert state(order) == before


# -- permissions ----------------------------------------------------------------------------


PROTECTED = {
    "order_hold_order": {"kind": "manual", "reason": "x"},
    "order_resolve_hold": {"note": "x"},
    "order_cancel_order": {"reason": "x"},
    "order_edit_lines": {},
    "order_edit_address": {},
    "order_edit_priority": {},
}


@pytest.mark.parametrize("role", [roles.WAREHOUSE, roles.FINANCE, roles.INVENTORY])
@pytest.mark.parametrize("button", PROTECTED)
def test_roles_without_the_right_get_403_and_change_nothing(client, login, role, button):
    order = captured_order(payment=pending())
    login(role)
    before = state(order)

    assert client.get(url(button, order.pk)).status_code == 403
    data = {**PROTECTED[button], "hold": order.holds.get().pk}
    assert dialog(client, url(button, order.pk), data).status_code == 403
    assert state(order) == before
    html = client.get(url("order_change", order.pk)).content.decode()
    assert url(button, order.pk) not in html


@pytest.mark.parametrize("role", [roles.WAREHOUSE, roles.FINANCE])
def test_roles_without_the_right_cannot_run_bulk_actions_or_take_phone_orders(client, login, role):
    order = captured_order(payment=paid())
    login(role)
    for action in ("cancel_selected", "hold_selected"):
        response = client.post(
            url("order_changelist"),
            {"action": action, "_selected_action": [order.pk], "apply": "1", "reason": "x"},
        )
        # The actions are not offered to the role, so Django never runs them.
        assert response.status_code in (200, 302, 403)
        assert fresh(order).status == S.ALLOCATED
        assert not fresh(order).holds.exists()
    assert client.get(url("order_phone_order")).status_code == 403
    changelist = client.get(url("order_changelist")).content.decode()
    assert "cancel_selected" not in changelist
    assert url("order_phone_order") not in changelist


def test_admin_role_may_do_everything(client, login):
    order = captured_order(payment=paid())
    login(roles.ADMIN)
    response = dialog(client, url("order_hold_order", order.pk), {"kind": "manual", "reason": "x"})
    assert response.status_code == 302
    assert fresh(order).status == S.ON_HOLD
    assert client.get(url("order_phone_order")).status_code == 200


def test_nobody_adds_changes_or_deletes_orders_as_rows(client, login):
    order = captured_order(payment=paid())
    login(roles.ADMIN)
    assert client.get(url("order_add")).status_code == 403
    assert client.get(url("order_delete", order.pk)).status_code == 403
    response = client.post(url("order_change", order.pk), {"priority": "1"})
    assert response.status_code == 403
    assert fresh(order).priority == 100


# -- bulk actions --------------------------------------------------------------------------


def test_bulk_cancel_asks_for_a_reason_then_cancels_each_and_lists_refusals(client, support):
    first = captured_order(payment=paid(), ship_to=address(1))
    second = captured_order(payment=pending(), ship_to=address(2))
    released = in_fulfilment(captured_order(payment=paid(), ship_to=address(3)))
    move(lock_order(released), "ship", system="test")
    selected = [first.pk, second.pk, released.pk]

    page = client.post(
        url("order_changelist"),
        {"action": "cancel_selected", "_selected_action": selected, "index": "0"},
    )
    assert page.status_code == 200
    assert 'data-testid="bulk-action"' in page.content.decode()
    assert first.number in page.content.decode()
    assert fresh(first).status == S.ALLOCATED  # nothing yet

    response = client.post(
        url("order_changelist"),
        {
            "action": "cancel_selected",
            "_selected_action": selected,
            "select_across": "0",
            "apply": "1",
            "reason": "Duplicate orders",
        },
    )

    assert response.status_code == 302
    assert fresh(first).status == S.CANCELLED
    assert fresh(second).status == S.CANCELLED
    assert fresh(released).status == S.SHIPPED
    done, refused = texts(response)
    assert done == f"Cancelled 2: {first.number}, {second.number}."
    assert released.number in refused and "can no longer be cancelled" in refused


def test_bulk_cancel_without_a_reason_shows_the_page_again(client, support):
    order = captured_order(payment=paid())
    response = client.post(
        url("order_changelist"),
        {"action": "cancel_selected", "_selected_action": [order.pk], "apply": "1", "reason": ""},
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert fresh(order).status == S.ALLOCATED


def test_bulk_hold_holds_each_selected_order(client, support):
    orders = [captured_order(payment=paid(), ship_to=address(n)) for n in range(3)]
    response = client.post(
        url("order_changelist"),
        {
            "action": "hold_selected",
            "_selected_action": [order.pk for order in orders],
            "apply": "1",
            "kind": "fraud",
            "reason": "Card reported stolen",
        },
    )
    assert response.status_code == 302
    for order in orders:
        order = fresh(order)
        assert order.status == S.ON_HOLD
        assert order.holds.get().kind == "fraud"


# -- edit pages -------------------------------------------------------------------------------


def test_edit_address_page_saves_through_the_service(client, support):
    order = captured_order(payment=paid())
    form = client.get(url("order_edit_address", order.pk))
    assert form.status_code == 200
    assert form.context["form"].initial["postcode"] == "94105"

    response = client.post(
        url("order_edit_address", order.pk),
        {**form.context["form"].initial, "line1": "500 Howard St", "postcode": "94105-1234"},
    )

    assert response.status_code == 302
    order = fresh(order)
    assert (order.ship_line1, order.ship_postcode) == ("500 Howard St", "94105-1234")
    event = order.events.get(kind="address_changed")
    assert event.actor == support
    assert event.data["before"]["line1"] == "1 Market St"


def test_edit_address_shows_the_service_errors_on_the_fields(client, support):
    order = captured_order(payment=paid())
    initial = client.get(url("order_edit_address", order.pk)).context["form"].initial
    before = state(order)

    response = client.post(
        url("order_edit_address", order.pk), {**initial, "postcode": "9410", "phone": "123"}
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "not a valid US postcode" in errors["postcode"][0]
    assert "phone" in errors
    assert state(order) == before
    assert fresh(order).ship_postcode == "94105"


def test_edit_priority_page(client, support):
    order = captured_order(payment=paid())
    response = client.post(url("order_edit_priority", order.pk), {"priority": "5"})
    assert response.status_code == 302
    assert fresh(order).priority == 5
    assert fresh(order).events.filter(kind="priority_changed").exists()


def _lines_post(order: Order, quantities: dict, *, remove=(), new=()) -> dict:
    lines = list(order.lines.order_by("line_no"))
    data = {
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(len(lines)),
        "new-TOTAL_FORMS": "3",
        "new-INITIAL_FORMS": "0",
    }
    for i, line in enumerate(lines):
        data[f"lines-{i}-line_no"] = str(line.line_no)
        data[f"lines-{i}-quantity"] = str(quantities.get(line.line_no, line.quantity))
        if line.line_no in remove:
            data[f"lines-{i}-remove"] = "on"
    for i, (sku, quantity, price) in enumerate(new):
        data |= {f"new-{i}-sku": sku, f"new-{i}-quantity": quantity, f"new-{i}-unit_price": price}
    return data


def test_edit_lines_changes_removes_and_adds_together(client, support):
    order = captured_order(
        payment=paid(),
        lines=[
            {"sku": "WIDGET-RED", "quantity": 2, "unit_price": "9.99"},
            {"sku": "WIDGET-BLUE", "quantity": 1, "unit_price": "5.00"},
        ],
    )
    stocked(product=ProductFactory(sku="GADGET-BLUE"), location=LocationFactory(code="WH-TEST"))
    assert client.get(url("order_edit_lines", order.pk)).status_code == 200

    response = client.post(
        url("order_edit_lines", order.pk),
        _lines_post(order, {1: 4}, remove=[2], new=[("gadget-blue", "3", "2.50")]),
    )

    assert response.status_code == 302
    order = fresh(order)
    lines = {line.line_no: line for line in order.lines.all()}
    assert (lines[1].quantity, lines[1].quantity_reserved) == (4, 4)
    assert (lines[2].quantity_cancelled, lines[2].quantity_reserved) == (1, 0)
    assert (lines[3].sku, lines[3].quantity, lines[3].quantity_reserved) == ("GADGET-BLUE", 3, 3)
    assert str(order.total) == "47.46"  # 4 at 9.99 + 3 at 2.50
    assert order.status == S.ALLOCATED
    kinds = set(order.events.values_list("kind", flat=True))
    assert {"line_quantity_changed", "line_removed", "line_added"} <= kinds


def test_edit_lines_undoes_everything_when_one_change_is_refused(client, support):
    order = captured_order(payment=paid())
    before = state(order)

    response = client.post(
        url("order_edit_lines", order.pk),
        _lines_post(order, {1: 1}, new=[("NO-SUCH-SKU", "1", "1.00")]),
    )

    assert response.status_code == 200
    (row,) = [form for form in response.context["new"].forms if form.errors]
    assert row.errors["sku"] == ["Unknown SKU 'NO-SUCH-SKU'."]
    assert state(order) == before  # the quantity change was undone too
    assert "Nothing was changed" in texts(response)[0]


def test_edit_lines_refuses_what_an_allocated_order_cannot_reserve(client, support):
    order = captured_order(payment=paid(), stock=3)
    before = state(order)

    response = client.post(url("order_edit_lines", order.pk), _lines_post(order, {1: 5}))

    assert response.status_code == 200
    (row,) = [form for form, _ in response.context["rows"] if form.errors]
    assert "must be reserved at once" in row.non_field_errors()[0]
    assert state(order) == before


def test_edit_pages_refuse_an_order_in_fulfilment(client, support):
    order = in_fulfilment(captured_order(payment=paid()))
    before = state(order)
    for page in ("order_edit_lines", "order_edit_address", "order_edit_priority"):
        response = client.post(url(page, order.pk), {"priority": "1"})
        assert response.status_code == 302
        assert "can no longer be edited" in texts(response)[-1]
    assert state(order) == before


# -- the holds queue ---------------------------------------------------------------------------


def test_holds_queue_lists_open_holds_with_age_and_resolves_them(client, support):
    waiting = captured_order(payment=pending(), ship_to=address(1))
    done_order = captured_order(payment=pending(), ship_to=address(2))
    Hold.objects.filter(order=waiting).update(opened_at=timezone.now() - timedelta(hours=5))
    resolved = done_order.holds.get()
    dialog(client, url("hold_resolve", resolved.pk), {"note": "paid"})

    response = client.get(url("hold_changelist"))

    holds = list(response.context["cl"].result_list)
    assert holds == [waiting.holds.get()]
    html = response.content.decode()
    assert "5\xa0hours" in html
    assert url("order_change", waiting.pk) in html
    assert list(
        client.get(url("hold_changelist"), {"state": "resolved"}).context["cl"].result_list
    ) == [resolved]

    response = dialog(client, url("hold_resolve", waiting.holds.get().pk), {"note": "ok"})
    assert response.status_code == 302
    assert response["Location"] == url("hold_changelist")
    assert fresh(waiting).status == S.ALLOCATED


def test_holds_queue_bulk_resolve(client, support):
    orders = [captured_order(payment=pending(), ship_to=address(n)) for n in range(2)]
    holds = [order.holds.get().pk for order in orders]
    response = client.post(
        url("hold_changelist"),
        {"action": "resolve_selected", "_selected_action": holds, "apply": "1", "note": "batch"},
    )
    assert response.status_code == 302
    assert all(fresh(order).status == S.ALLOCATED for order in orders)
    assert not Hold.objects.filter(resolved_at__isnull=True).exists()


def test_a_resolved_hold_cannot_be_resolved_again(client, support):
    order = captured_order(payment=pending())
    hold = order.holds.get()
    dialog(client, url("hold_resolve", hold.pk), {"note": "first"})
    before = state(order)

    response = dialog(client, url("hold_resolve", hold.pk), {"note": "second"})

    assert "already resolved" in texts(response)[-1]
    assert state(order) == before


@pytest.mark.parametrize("role", [roles.WAREHOUSE, roles.FINANCE])
def test_roles_without_the_right_cannot_resolve_holds(client, login, role):
    order = captured_order(payment=pending())
    login(role)
    assert client.get(url("hold_changelist")).status_code == 200  # everyone reads the queue
    assert dialog(client, url("hold_resolve", order.holds.get().pk), {}).status_code == 403
    assert fresh(order).status == S.ON_HOLD


# -- the phone order form --------------------------------------------------------------------


@pytest.fixture
def phone_channel():
    return ChannelFactory(code="phone", name="Phone orders", kind=Channel.Kind.PHONE)


@pytest.fixture
def stock():
    location = LocationFactory(code="WH-TEST")
    for sku in ("WIDGET-RED", "WIDGET-BLUE"):
        stocked(product=ProductFactory(sku=sku), location=location, quantity=20)


def phone_form(**overrides) -> dict:
    data = {
        "channel": "phone",
        "external_ref": "PH-TEST-1",
        "customer_code": "",
        "customer_name": "Ben Ode",
        "customer_email": "ben@example.com",
        "customer_phone": "+1 206 555 0100",
        "ship_name": "Ben Ode",
        "ship_company": "",
        "ship_line1": "400 Broad St",
        "ship_line2": "",
        "ship_city": "Seattle",
        "ship_region": "WA",
        "ship_postcode": "98109",
        "ship_country": "US",
        "ship_phone": "",
        "payment_status": "paid",
        "payment_amount": "",
        "payment_reference": "card-on-phone",
        "requested_ship_date": "",
        "notes": "Leave at reception",
        "lines-TOTAL_FORMS": "4",
        "lines-INITIAL_FORMS": "0",
        "lines-0-sku": "widget-red",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "9.99",
        "lines-1-sku": "",
        "lines-2-sku": "WIDGET-BLUE",
        "lines-2-quantity": "1",
        "lines-2-unit_price": "4.00",
    }
    data.update(overrides)
    return data


def test_phone_order_form_opens_with_phone_preselected(client, support, phone_channel):
    response = client.get(url("order_phone_order"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["channel"].value() == "phone"
    assert form["external_ref"].value().startswith("PH-")
    assert 'data-testid="phone-order"' in response.content.decode()


def test_phone_order_form_captures_the_order(client, support, phone_channel, stock):
    response = client.post(url("order_phone_order"), phone_form())

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("order_change", order.pk)
    assert (order.channel.code, order.external_ref) == ("phone", "PH-TEST-1")
    assert order.status == S.ALLOCATED
    assert str(order.total) == "23.98"
    assert order.payments.get().amount == order.total  # a blank amount is the total
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [
        ("WIDGET-RED", 2),
        ("WIDGET-BLUE", 1),
    ]
    assert order.customer.email == "ben@example.com"
    created = order.events.get(kind="created")
    assert created.actor == support
    assert "via admin from phone order form" in created.message
    assert texts(response) == [f"{order.number} captured, allocated."]


def test_sending_the_phone_form_twice_captures_one_order(client, support, phone_channel, stock):
    client.post(url("order_phone_order"), phone_form())
    response = client.post(url("order_phone_order"), phone_form())
    assert Order.objects.count() == 1
    assert "already captured" in texts(response)[-1]


def test_phone_order_form_shows_errors_where_the_service_names_them(
    client, support, phone_channel, stock
):
    response = client.post(
        url("order_phone_order"),
        phone_form(
            ship_postcode="981",
            **{"lines-2-sku": "NO-SUCH-SKU", "lines-2-unit_price": "4.001"},
            customer_email="not-an-email",
        ),
    )

    assert response.status_code == 200
    assert not Order.objects.exists()
    form = response.context["form"]
    assert "not a valid US postcode" in form.errors["ship_postcode"][0]
    assert form.errors["customer_email"] == ["Enter a valid e-mail address."]
    rows = response.context["lines"].forms
    assert not rows[0].errors
    # The service counts typed lines (the blank row is skipped): its line 2 is row 3.
    assert rows[2].errors["sku"] == ["Unknown SKU 'NO-SUCH-SKU'."]
    assert "at most 2 decimal places" in rows[2].errors["unit_price"][0]
    html = response.content.decode()
    assert "Unknown SKU" in html and "not a valid US postcode" in html


def test_phone_order_form_needs_a_line(client, support, phone_channel):
    data = phone_form(**{"lines-0-sku": "", "lines-0-quantity": "", "lines-2-sku": ""})
    data["lines-2-quantity"] = ""
    response = client.post(url("order_phone_order"), data)
    assert response.status_code == 200
    assert "at least one line" in str(response.context["lines"].non_form_errors())
    assert not Order.objects.exists()


def test_phone_order_form_reference_taken_by_another_order(client, support, phone_channel, stock):
    client.post(url("order_phone_order"), phone_form())
    response = client.post(url("order_phone_order"), phone_form(notes="another order"))
    assert response.status_code == 200
    assert "already exists" in response.context["form"].errors["external_ref"][0]
    assert Order.objects.count() == 1


def test_phone_order_unpaid_waits_on_a_payment_hold(client, support, phone_channel, stock):
    response = client.post(url("order_phone_order"), phone_form(payment_status="pending"))
    order = Order.objects.get()
    assert order.status == S.ON_HOLD
    assert texts(response) == [f"{order.number} captured, on hold: Awaiting payment."]
