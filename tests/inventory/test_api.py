"""GET /api/v1/products/ and /api/v1/products/{sku}/ (../shared/API.md), the
authentication, permission, pagination, throttling and error conventions every endpoint
shares, and the OpenAPI schema and offline docs."""

import re
from urllib.parse import urlsplit

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.cache import cache
from rest_framework.exceptions import ErrorDetail, NotAuthenticated
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.throttling import UserRateThrottle

from inventory.models import Product
from oms.core.api_errors import exception_handler
from oms.core.exceptions import (
    Conflict,
    IllegalTransition,
    InsufficientStock,
    NotFound,
    ValidationFailed,
)
from oms.core.roles import roles_setup
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    # Throttle counters live in the cache; no test may inherit another's requests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def roles():
    roles_setup()


@pytest.fixture
def support(roles):
    return UserFactory(roles=["Support"])


@pytest.fixture
def api(support):
    """A client logged in (admin session) as a Support user."""
    client = APIClient()
    client.force_login(support)
    return client


@pytest.fixture
def catalog():
    return [
        ProductFactory(sku="WIDGET-RED", name="Widget, red", barcode="4006381333931"),
        ProductFactory(sku="WIDGET-BLUE", name="Widget, blue"),
        ProductFactory(sku="GADGET-1", name="Gadget with red trim", active=False),
        ProductFactory(sku="CABLE-1.5M", name="Cable 1.5 m"),
    ]


def skus(response) -> list[str]:
    return [row["sku"] for row in response.json()["results"]]


# Authentication and permissions


def test_no_credentials_is_401_with_a_token_challenge(catalog):
    response = APIClient().get(PRODUCTS)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_a_bad_token_is_401(catalog):
    response = APIClient().get(PRODUCTS, headers={"authorization": "Token not-a-real-token"})

    assert response.status_code == 401


def test_the_admin_session_of_a_staff_user_with_a_role_works(api, catalog):
    response = api.get(PRODUCTS)

    assert response.status_code == 200
    assert skus(response) == ["CABLE-1.5M", "GADGET-1", "WIDGET-BLUE", "WIDGET-RED"]


@pytest.mark.parametrize("role", ["Support", "Warehouse", "Inventory", "Finance", "Admin"])
def test_every_role_reads_products(roles, catalog, role):
    client = APIClient()
    client.force_login(UserFactory(roles=[role]))

    assert client.get(PRODUCTS).status_code == 200
    assert client.get(f"{PRODUCTS}WIDGET-RED/").status_code == 200


def test_a_user_without_a_role_is_403(roles, catalog):
    client = APIClient()
    client.force_login(UserFactory())

    assert client.get(PRODUCTS).status_code == 403
    response = client.get(f"{PRODUCTS}WIDGET-RED/")
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}


def test_an_inactive_users_session_is_refused(support, catalog):
    client = APIClient()
    client.force_login(support)
    support.is_active = False
    support.save(update_fields=["is_active"])

    assert client.get(PRODUCTS).status_code == 401


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    ("role", "status"),
    [
        # Admin may change products (in the console), yet this API has no write methods.
        ("Admin", 405),
        # Support may not change products at all: refused before the method is looked at.
        ("Support", 403),
    ],
)
def test_the_catalog_is_read_only(roles, catalog, method, role, status):
    client = APIClient()
    client.force_login(UserFactory(roles=[role]))
    url = PRODUCTS if method == "post" else f"{PRODUCTS}WIDGET-RED/"

    response = getattr(client, method)(url, {"sku": "NEW-1", "name": "New"}, format="json")

    assert response.status_code == status
    assert sorted(Product.objects.values_list("sku", flat=True)) == sorted(p.sku for p in catalog)
    assert Product.objects.get(sku="WIDGET-RED").name == "Widget, red"


def test_session_writes_would_need_csrf(support):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(support)

    response = client.post(PRODUCTS, {"sku": "NEW-1"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


# Detail


def test_detail_by_sku(api, catalog):
    response = api.get(f"{PRODUCTS}WIDGET-RED/")

    assert response.status_code == 200
    body = response.json()
    assert body["sku"] == "WIDGET-RED"
    assert body["name"] == "Widget, red"
    assert body["barcode"] == "4006381333931"
    assert body["active"] is True
    assert body["weight_grams"] == 250
    # ISO 8601 with a time zone.
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", body["updated_at"]
    )


def test_detail_of_a_sku_with_a_dot(api, catalog):
    response = api.get(f"{PRODUCTS}CABLE-1.5M/")

    assert response.status_code == 200
    assert response.json()["sku"] == "CABLE-1.5M"


def test_unknown_sku_is_a_json_404(api, catalog):
    response = api.get(f"{PRODUCTS}NO-SUCH-SKU/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


# Lists: pagination, filters, query count


def test_list_is_paginated(api):
    ProductFactory.create_batch(3)

    response = api.get(PRODUCTS, {"page_size": 2})

    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["previous"] is None
    assert "page=2" in body["next"]

    second = api.get(body["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert second["previous"] is not None


def test_default_page_size_comes_from_settings(api, settings):
    settings.API_PAGE_SIZE = 3
    ProductFactory.create_batch(5)

    assert len(api.get(PRODUCTS).json()["results"]) == 3


def test_page_size_is_honoured_up_to_500(api):
    ProductFactory.create_batch(501)

    assert len(api.get(PRODUCTS, {"page_size": 500}).json()["results"]) == 500
    capped = api.get(PRODUCTS, {"page_size": 1000}).json()
    assert capped["count"] == 501
    assert len(capped["results"]) == 500
    assert capped["next"] is not None


def test_a_page_past_the_end_is_404(api, catalog):
    assert api.get(PRODUCTS, {"page": 99}).status_code == 404


def test_filter_sku_is_case_insensitive_exact(api, catalog):
    assert skus(api.get(PRODUCTS, {"sku": "widget-red"})) == ["WIDGET-RED"]
    assert skus(api.get(PRODUCTS, {"sku": "WIDGET"})) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("false", ["GADGET-1"]),
        ("0", ["GADGET-1"]),
        ("true", ["CABLE-1.5M", "WIDGET-BLUE", "WIDGET-RED"]),
        ("True", ["CABLE-1.5M", "WIDGET-BLUE", "WIDGET-RED"]),
        ("1", ["CABLE-1.5M", "WIDGET-BLUE", "WIDGET-RED"]),
        ("", ["CABLE-1.5M", "GADGET-1", "WIDGET-BLUE", "WIDGET-RED"]),
    ],
)
def test_filter_active(api, catalog, value, expected):
    assert skus(api.get(PRODUCTS, {"active": value})) == expected


def test_filter_active_rejects_garbage_instead_of_ignoring_it(api, catalog):
    response = api.get(PRODUCTS, {"active": "maybe"})

    assert response.status_code == 400
    assert response.json() == {"active": ["Use true or false."]}


def test_filter_barcode(api, catalog):
    assert skus(api.get(PRODUCTS, {"barcode": "4006381333931"})) == ["WIDGET-RED"]


def test_filter_q_searches_sku_barcode_and_name(api, catalog):
    assert skus(api.get(PRODUCTS, {"q": "red"})) == ["GADGET-1", "WIDGET-RED"]
    assert skus(api.get(PRODUCTS, {"q": "widget-b"})) == ["WIDGET-BLUE"]
    assert skus(api.get(PRODUCTS, {"q": "4006381333931"})) == ["WIDGET-RED"]
    assert skus(api.get(PRODUCTS, {"q": "red", "active": "true"})) == ["WIDGET-RED"]


@pytest.mark.parametrize("page_size", [1, 50, 200])
def test_list_queries_do_not_grow_with_the_page(api, django_assert_max_num_queries, page_size):
    ProductFactory.create_batch(200)

    # session, user, user perms, group perms, count, page
    with django_assert_max_num_queries(6):
        response = api.get(PRODUCTS, {"page_size": page_size})

    assert len(response.json()["results"]) == page_size


def test_token_authenticated_list_queries_are_bounded(support, django_assert_max_num_queries):
    from knox.models import AuthToken

    ProductFactory.create_batch(100)
    _, token = AuthToken.objects.create(user=support)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    # token (+ user), the user's other tokens (expiry clean-up), user perms, group perms,
    # count, page
    with django_assert_max_num_queries(6):
        response = client.get(PRODUCTS, {"page_size": 100})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 100


# Throttling


def test_throttled_users_get_429(api, monkeypatch):
    # DRF reads the rates into the class when rest_framework.throttling is imported, so
    # overriding settings.REST_FRAMEWORK in a test changes nothing; patch the class.
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": None})

    statuses = [api.get(PRODUCTS).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = api.get(PRODUCTS)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "throttled" in response.json()["detail"].lower()


def test_throttling_counts_per_user(roles, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": None})
    first, second = APIClient(), APIClient()
    first.force_login(UserFactory(roles=["Support"]))
    second.force_login(UserFactory(roles=["Support"]))

    assert [first.get(PRODUCTS).status_code for _ in range(3)] == [200, 200, 429]
    assert second.get(PRODUCTS).status_code == 200


# The error format (API.md): exception_handler directly, with a fake context


def _context():
    request = APIRequestFactory().get("/api/v1/anything/")
    return {"request": request, "view": None, "args": (), "kwargs": {}}


def test_validation_failed_is_400_with_field_messages():
    errors = {"lines": [{}, {"sku": ["Unknown SKU NOPE."]}], "country": ["Not a country."]}

    response = exception_handler(ValidationFailed(errors), _context())

    assert response.status_code == 400
    assert response.data == errors


def test_illegal_transition_is_409_with_detail_and_status():
    exc = IllegalTransition("A shipped order cannot be cancelled.", status="shipped")

    response = exception_handler(exc, _context())

    assert response.status_code == 409
    assert response.data["detail"] == "A shipped order cannot be cancelled."
    assert response.data["status"] == "shipped"


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (Conflict("Same external_ref, different body.", external_ref="WEB-1"), 409),
        (InsufficientStock("Only 2 available.", sku="WIDGET-RED", available=2), 409),
        (NotFound("No order SO-9."), 404),
    ],
)
def test_other_domain_errors_carry_their_status_and_data(exc, status):
    response = exception_handler(exc, _context())

    assert response.status_code == status
    assert response.data == exc.as_dict()
    assert response.data["detail"] == exc.message
    assert response.data["code"] == exc.code


def test_django_errors_become_drf_answers():
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    assert exception_handler(Http404("secret detail"), _context()).status_code == 404
    denied = exception_handler(PermissionDenied(), _context())
    assert denied.status_code == 403
    assert denied.data == {
        "detail": ErrorDetail(
            "You do not have permission to perform this action.", code="permission_denied"
        )
    }


def test_drf_errors_pass_through():
    response = exception_handler(NotAuthenticated(), _context())

    assert response.status_code == 401


def test_unexpected_errors_are_left_to_django():
    assert exception_handler(RuntimeError("bug"), _context()) is None


def test_a_view_raising_validation_failed_answers_400(api, monkeypatch):
    """End to end: a domain error raised inside a view reaches the client as API.md says."""
    from inventory.api import ProductViewSet

    def refuse(self, request, *args, **kwargs):
        raise ValidationFailed({"sku": ["Unknown SKU."]})

    monkeypatch.setattr(ProductViewSet, "list", refuse)

    response = api.get(PRODUCTS)

    assert response.status_code == 400
    assert response.json() == {"sku": ["Unknown SKU."]}


def test_a_view_raising_illegal_transition_answers_409(api, catalog, monkeypatch):
    from inventory.api import ProductViewSet

    def refuse(self, request, *args, **kwargs):
        raise IllegalTransition("Cannot cancel a shipped order.", status="shipped")

    monkeypatch.setattr(ProductViewSet, "retrieve", refuse)

    response = api.get(f"{PRODUCTS}WIDGET-RED/")

    assert response.status_code == 409
    body = response.json()
    assert body["detail"] == "Cannot cancel a shipped order."
    assert body["status"] == "shipped"


# OpenAPI schema and offline docs


def test_schema_is_openapi_3_with_the_products_paths(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/products/" in schema["paths"]
    assert "/api/v1/products/{sku}/" in schema["paths"]
    params = {p["name"]: p for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]}
    assert {"sku", "active", "q", "page", "page_size"} <= set(params)
    assert params["page_size"]["schema"].get("maximum") == 500


def test_schema_as_json(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    assert "/api/v1/products/" in response.json()["paths"]


def test_docs_use_only_local_static_assets(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html.lower()
    urls = re.findall(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert urls, "no script or link tags found"
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html)
    for url in urls:
        path = urlsplit(url).path
        assert path.startswith("/static/"), url
        assert finders.find(path.removeprefix("/static/")), f"{url} is not a static file"
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    # The page loads the schema from this server too.
    assert "/api/schema/" in html
