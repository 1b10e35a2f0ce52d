"""The orders side of inventory's one upward signal (DESIGN.md section 2)."""

from orders.tasks import allocate_backorders


def on_stock_available(sender, *, product_ids: list[int], location_id: int, **kwargs) -> None:
    # Sent after the stock change committed; the task runs eagerly without a broker.
    allocate_backorders.delay(product_ids)
