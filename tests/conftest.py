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
