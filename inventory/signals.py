"""The one upward path (DESIGN.md section 2): stock became available somewhere, so the
apps above may allocate what waits for it. Sent after commit, never inside the change."""

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

# Sent with product_ids (a sorted list of ints) and location_id.
stock_available = Signal()


def announce_available(*, product_ids: Iterable[int], location_id: int) -> None:
    ids = sorted(set(product_ids))
    if ids:
        transaction.on_commit(
            lambda: stock_available.send(sender=None, product_ids=ids, location_id=location_id)
        )
