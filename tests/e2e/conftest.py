"""Browser tests: pytest-playwright drives Debian's chromium against Django's live_server.

- The browser is the system's /usr/bin/chromium (apt-get install chromium); Playwright's
  own browser downloads are never used. Without it the tests are skipped on a developer
  machine and fail in CI (CI=true), so CI cannot go green without running them.
- Every request the page makes is recorded; a test fails if any left the live server
  (no CDN, no fonts, no telemetry).
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from oms.core import roles
from tests.factories import LocationFactory, ProductFactory, UserFactory, stocked

# Playwright's sync API runs an asyncio loop in this thread; Django then refuses ORM calls
# from it ("You cannot call this from an async context"). The test thread only sets up
# rows and reads them back; the live server answers from its own thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's password
CHROMIUM_ARGS = [
    "--no-sandbox",
    # Without these Chromium phones home at start (updates, sync, field trials).
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}}


@pytest.fixture
def requests_seen(context, live_server):
    """Every URL the browser asked for during the test; none may leave the live server."""
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url))
    yield seen
    here = urlsplit(live_server.url).netloc
    foreign = [
        url
        for url in seen
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != here
    ]
    assert not foreign, f"requests left the machine: {foreign}"


@pytest.fixture
def console(transactional_db, live_server, page, requests_seen):
    """Roles, a little stock, and a helper that logs a user in through the real form."""
    roles.roles_setup()
    product = ProductFactory(sku="MUG-BLUE", name="Blue mug")
    stocked(product=product, location=LocationFactory(code="EAST", name="East DC"), quantity=7)
    stocked(product=product, location=LocationFactory(code="WEST", name="West DC"), quantity=3)

    class Console:
        url = live_server.url

        def __init__(self):
            self.product = product
            self.page = page
            self.requests = requests_seen

        def login(self, username: str, role: str):
            UserFactory(username=username, roles=[role])
            page.goto(f"{self.url}/admin/login/?next=/admin/")
            page.fill("#id_username", username)
            page.fill("#id_password", PASSWORD)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(f"{self.url}/admin/")
            return page

    return Console()
