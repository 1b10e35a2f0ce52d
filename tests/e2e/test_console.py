"""The console in a real browser: log in through the form, see what the role allows, and
load nothing from outside the machine (the static files and Swagger UI are served here)."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from oms.core import roles

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _group(sidebar, title: str):
    """A sidebar group's heading (its accessible name ends with the chevron icon's name)."""
    return sidebar.get_by_role("heading", name=re.compile(rf"^{title}( chevron_right)?$"))


def _item(sidebar, title: str):
    """A sidebar link (its accessible name starts with the icon's name)."""
    return sidebar.get_by_role("link", name=re.compile(rf"^(\w+ )?{title}$"))


def _stylesheets_applied(page) -> bool:
    """True when the console's stylesheets loaded (a bare, unstyled page has none)."""
    return page.evaluate(
        """() => {
            const sheets = [...document.styleSheets].filter(s => s.href);
            const rules = sheets.reduce((n, s) => n + s.cssRules.length, 0);
            return sheets.length > 0 && rules > 100;
        }"""
    )


def test_admin_logs_in_and_sees_the_dashboard_and_sidebar(console):
    page = console.login("boss", roles.ADMIN)

    kpis = page.get_by_test_id("kpis")
    expect(kpis).to_be_visible()
    expect(kpis).to_contain_text("Active products")
    expect(kpis).to_contain_text("Units on hand")
    expect(kpis).to_contain_text("10")  # 7 + 3 units of the one product
    sidebar = page.get_by_role("navigation").first
    for group in ("Console", "Orders", "Inventory", "System"):
        expect(_group(sidebar, group)).to_be_visible()
    # Groups are collapsible: open two and follow a link, as a person would.
    _group(sidebar, "System").click()
    for item in ("Outbox", "Users", "Roles", "API tokens", "Scheduled tasks"):
        expect(_item(sidebar, item)).to_be_visible()
    _group(sidebar, "Inventory").click()
    for item in ("Products", "Stock levels", "Stock ledger", "Locations", "Bins"):
        expect(_item(sidebar, item)).to_be_visible()
    assert _stylesheets_applied(page), "the console's CSS did not load"
    # The text font and the icon font are static files of this server too.
    fonts = page.evaluate(
        """async () => {
            await document.fonts.ready;
            return [...document.fonts].filter(f => f.status === "loaded").map(f => f.family);
        }"""
    )
    assert any("Inter" in family for family in fonts), fonts
    assert any("Material Symbols" in family for family in fonts), fonts

    _item(sidebar, "Products").click()
    page.wait_for_url(f"{console.url}/admin/inventory/product/")
    expect(page.locator("#result_list")).to_contain_text("MUG-BLUE")


def test_support_sees_no_stock_editing_and_is_refused_the_product_add_page(console):
    page = console.login("helpdesk", roles.SUPPORT)

    expect(page.get_by_test_id("kpis")).to_be_visible()
    sidebar = page.get_by_role("navigation").first
    _group(sidebar, "System").click()
    expect(_item(sidebar, "Outbox")).to_be_visible()
    # Users, roles and tokens belong to Admin.
    for item in ("Users", "Roles", "API tokens"):
        expect(_item(sidebar, item)).to_have_count(0)

    page.goto(f"{console.url}/admin/inventory/product/")
    expect(page.get_by_text("MUG-BLUE")).to_be_visible()
    expect(page.locator("a[href='/admin/inventory/product/add/']")).to_have_count(0)

    page.goto(f"{console.url}/admin/inventory/stocklevel/")
    expect(page.get_by_text("EAST").first).to_be_visible()
    level_link = page.locator("#result_list a[href*='/admin/inventory/stocklevel/']").first
    level_link.click()
    expect(page.get_by_text("On hand", exact=False).first).to_be_visible()
    expect(page.locator("input[name='safety_stock']")).to_have_count(0)
    expect(page.locator("[name='_save']")).to_have_count(0)

    response = page.goto(f"{console.url}/admin/inventory/product/add/")
    assert response.status == 403


def test_inventory_sees_the_product_page_with_its_stock_inline(console):
    page = console.login("stockist", roles.INVENTORY)

    page.goto(f"{console.url}/admin/inventory/product/{console.product.pk}/change/")

    expect(page.locator("input[name='name']")).to_have_value("Blue mug")
    inline = page.locator(".inline-group, fieldset").filter(has_text="Stock per location").first
    expect(inline).to_be_visible()
    expect(inline).to_contain_text("EAST")
    expect(inline).to_contain_text("WEST")
    # Quantities are shown, never editable, on the product page.
    expect(page.locator("input[name$='-on_hand']")).to_have_count(0)
    assert _stylesheets_applied(page)


def test_api_docs_render_offline(console):
    page = console.login("boss", roles.ADMIN)

    page.goto(f"{console.url}/api/docs/")

    expect(page.locator(".swagger-ui")).to_be_visible()
    expect(page.get_by_text("/api/v1/products/").first).to_be_visible(timeout=15_000)
    here = urlsplit(console.url).netloc
    assert console.requests, "no request was recorded"
    assert {urlsplit(url).netloc for url in console.requests} == {here}
    assert any("swagger-ui" in url for url in console.requests)
