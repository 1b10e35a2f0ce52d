"""The console (Django admin + unfold) per role: what each role sees, may change and is
refused, the read-only ledger and quantities, and query counts that do not grow with rows."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from inventory.models import Product, StockLevel, StockMovement
from oms.core import roles
from tests.factories import LocationFactory, ProductFactory, UserFactory, stocked

pytestmark = pytest.mark.django_db

ALL_ROLES = roles.ROLES
BUSINESS_ROLES = tuple(role for role in ALL_ROLES if role != roles.ADMIN)
REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture(autouse=True)
def role_groups():
    roles.roles_setup()


@pytest.fixture
def login(client):
    """Log a fresh staff user with the given role in; returns the user."""

    def _login(role: str):
        user = UserFactory(username=f"{role.lower()}-user", roles=[role])
        client.force_login(user)
        return user

    return _login


@pytest.fixture
def superuser(client):
    user = UserFactory(username="root", is_superuser=True)
    client.force_login(user)
    return user


def _may_view(role: str, model) -> bool:
    """The rule of oms.core.roles, stated independently of has_perm: every role reads the
    business apps; only Admin reads users, groups, tokens and schedules."""
    return role == roles.ADMIN or model._meta.app_label in roles.BUSINESS_APPS


# -- the dashboard ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_dashboard_renders_the_kpis_for_every_role(client, login, role):
    level = stocked(quantity=12)
    StockLevel.objects.filter(pk=level.pk).update(reorder_point=20)
    login(role)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="kpis"' in html
    kpis = {kpi["title"]: kpi["value"] for kpi in response.context["kpis"]}
    assert kpis["Active products"] == 1
    assert kpis["Units on hand"] == 12
    assert kpis["At or below reorder point"] == 1
    assert kpis["Locations fulfilling"] == 1
    for title in kpis:
        assert title in html


# -- changelists: what a role can see, and what it is refused -----------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_changelist_a_role_can_view_opens_and_the_others_are_refused(client, login, role):
    login(role)
    seen, refused = [], []
    for model in REGISTERED:
        response = client.get(_url(model, "changelist"))
        expected = 200 if _may_view(role, model) else 403
        assert response.status_code == expected, (model._meta.label, response.status_code)
        (seen if expected == 200 else refused).append(model._meta.label)
    assert "inventory.Product" in seen
    assert "inventory.StockMovement" in seen
    if role == roles.ADMIN:
        assert not refused
    else:
        assert "auth.User" in refused


def test_a_superuser_opens_every_changelist(client, superuser):
    for model in REGISTERED:
        assert client.get(_url(model, "changelist")).status_code == 200, model._meta.label


def test_a_user_without_a_role_is_refused_the_business_lists(client):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(_url(Product, "changelist")).status_code == 403


# -- add and change pages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "model_label", "expected"),
    [
        (roles.INVENTORY, "inventory.Product", 200),
        (roles.INVENTORY, "inventory.Location", 200),
        (roles.INVENTORY, "inventory.Bin", 200),
        (roles.WAREHOUSE, "inventory.Bin", 200),
        (roles.WAREHOUSE, "inventory.Product", 403),
        (roles.SUPPORT, "inventory.Product", 403),
        (roles.SUPPORT, "inventory.Location", 403),
        (roles.SUPPORT, "orders.Customer", 200),
        (roles.SUPPORT, "orders.Channel", 403),
        (roles.FINANCE, "inventory.Product", 403),
        (roles.FINANCE, "orders.Customer", 403),
        (roles.ADMIN, "inventory.Product", 200),
        (roles.ADMIN, "orders.Channel", 200),
        (roles.ADMIN, "auth.User", 200),
    ],
)
def test_add_pages_follow_the_role(client, login, role, model_label, expected):
    login(role)
    model = apps.get_model(model_label)
    assert client.get(_url(model, "add")).status_code == expected


def test_inventory_adds_a_product_through_the_form(client, login):
    login(roles.INVENTORY)
    response = client.post(
        _url(Product, "add"),
        {
            "sku": "NEW-1",
            "barcode": "",
            "name": "New thing",
            "active": "on",
            "weight_grams": "100",
            "length_mm": "0",
            "width_mm": "0",
            "height_mm": "0",
            "stock_levels-TOTAL_FORMS": "0",
            "stock_levels-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Product.objects.filter(sku="NEW-1", name="New thing").exists()


def test_support_cannot_post_a_product(client, login):
    login(roles.SUPPORT)
    response = client.post(_url(Product, "add"), {"sku": "NOPE-1", "name": "No"})
    assert response.status_code == 403
    assert not Product.objects.filter(sku="NOPE-1").exists()


def test_product_change_page_is_a_form_for_inventory_and_read_only_for_support(client, login):
    product = ProductFactory()
    url = _url(Product, "change", product.pk)

    login(roles.INVENTORY)
    editable = client.get(url)
    assert editable.status_code == 200
    assert 'name="name"' in editable.content.decode()

    login(roles.SUPPORT)
    read_only = client.get(url)
    assert read_only.status_code == 200
    assert 'name="name"' not in read_only.content.decode()
    assert product.name in read_only.content.decode()
    assert client.post(url, {"sku": product.sku, "name": "Renamed"}).status_code == 403
    product.refresh_from_db()
    assert product.name != "Renamed"


# -- the ledger and the quantities ---------------------------------------------------------


def test_the_stock_ledger_has_no_add_change_or_delete_even_for_a_superuser(client, superuser, rf):
    level = stocked(quantity=5)
    movement = StockMovement.objects.get(stock_level=level)
    model_admin = admin.site._registry[StockMovement]
    request = rf.get("/")
    request.user = superuser
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, movement)
    assert not model_admin.has_delete_permission(request, movement)

    assert client.get(_url(StockMovement, "add")).status_code == 403
    assert client.get(_url(StockMovement, "delete", movement.pk)).status_code == 403
    change_page = client.get(_url(StockMovement, "change", movement.pk))
    assert change_page.status_code == 200  # viewable, but with nothing to submit
    assert 'name="quantity"' not in change_page.content.decode()
    assert 'name="_save"' not in change_page.content.decode()
    response = client.post(
        _url(StockMovement, "change", movement.pk), {"quantity": "99", "reason": "receipt"}
    )
    assert response.status_code == 403
    movement.refresh_from_db()
    assert movement.quantity == 5


def test_stock_level_quantities_are_read_only_on_the_change_form(client, login):
    level = stocked(quantity=8)
    login(roles.INVENTORY)
    url = _url(StockLevel, "change", level.pk)

    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="on_hand"' not in html
    assert 'name="reserved"' not in html
    assert 'name="safety_stock"' in html

    response = client.post(
        url,
        {
            "on_hand": "999",
            "reserved": "3",
            "safety_stock": "2",
            "reorder_point": "4",
            "reorder_qty": "10",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (8, 0)
    assert (level.safety_stock, level.reorder_point, level.reorder_qty) == (2, 4, 10)


def test_stock_levels_cannot_be_added_or_deleted_in_the_console(client, superuser):
    level = stocked(quantity=1)
    assert client.get(_url(StockLevel, "add")).status_code == 403
    assert client.get(_url(StockLevel, "delete", level.pk)).status_code == 403


def test_the_product_page_shows_stock_per_location(client, login):
    product = ProductFactory(sku="INLINE-1")
    stocked(product=product, location=LocationFactory(code="EAST"), quantity=7)
    stocked(product=product, location=LocationFactory(code="WEST"), quantity=3)
    login(roles.SUPPORT)

    response = client.get(_url(Product, "change", product.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Stock per location" in html
    assert "EAST" in html
    assert "WEST" in html
    (inline,) = response.context["inline_admin_formsets"]
    assert sorted(form.original.location.code for form in inline) == ["EAST", "WEST"]
    assert sorted(form.original.on_hand for form in inline) == [3, 7]


# -- search --------------------------------------------------------------------------------


def test_admin_search_finds_a_product_by_sku(client, login):
    ProductFactory(sku="FIND-ME-42", name="Blue mug")
    ProductFactory(sku="OTHER-1", name="Red mug")
    login(roles.SUPPORT)

    response = client.get(_url(Product, "changelist"), {"q": "find-me-42"})

    assert response.status_code == 200
    assert [p.sku for p in response.context["cl"].result_list] == ["FIND-ME-42"]


def test_stock_level_search_finds_by_sku(client, login):
    stocked(product=ProductFactory(sku="LEVEL-SKU-1"), quantity=1)
    stocked(product=ProductFactory(sku="LEVEL-SKU-2"), quantity=1)
    login(roles.WAREHOUSE)

    response = client.get(_url(StockLevel, "changelist"), {"q": "LEVEL-SKU-2"})

    assert [lvl.product.sku for lvl in response.context["cl"].result_list] == ["LEVEL-SKU-2"]


# -- query counts do not grow with the rows ------------------------------------------------

# Session, user, group and user permissions, the filter choices, two counts and one page
# of rows: 7 for products and 8 for stock levels, measured. The same bound holds at 5
# rows and at 50; a missing select_related would add one query per row.
CHANGELIST_QUERY_BOUND = 8


def _make_stock(rows: int) -> None:
    location = LocationFactory()
    for _ in range(rows):
        stocked(product=ProductFactory(), location=location, quantity=3)


@pytest.mark.parametrize("rows", [5, 50])
@pytest.mark.parametrize("model", [Product, StockLevel], ids=["product", "stocklevel"])
def test_changelist_query_count_is_bounded(
    client, login, django_assert_max_num_queries, rows, model
):
    _make_stock(rows)
    login(roles.INVENTORY)

    with django_assert_max_num_queries(CHANGELIST_QUERY_BOUND):
        response = client.get(_url(model, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == rows
    assert len(response.context["cl"].result_list) == rows
