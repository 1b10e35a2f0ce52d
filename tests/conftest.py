import os

import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    """`pg` tests need PostgreSQL (row locks, real concurrency). On SQLite they are skipped
    with the reason; in CI (CI=true) a missing PostgreSQL stops the run instead."""
    if connection.vendor == "postgresql":
        return
    pg_items = [item for item in items if "pg" in item.keywords]
    if pg_items and os.environ.get("CI"):
        raise pytest.UsageError(
            f"CI=true but DATABASE_URL is not PostgreSQL: {len(pg_items)} pg tests would not run."
        )
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in pg_items:
        item.add_marker(skip)


@pytest.fixture
def login(client):
    """Log a staff user with the given role (and extra permissions, and user fields) in;
    returns it."""
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    def _login(role: str | None = None, *permissions: str, **fields):
        user = UserFactory(roles=[role] if role else [], **fields)
        for name in permissions:
            app_label, codename = name.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        client.force_login(user)
        return user

    return _login
