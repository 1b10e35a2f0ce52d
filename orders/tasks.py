from celery import shared_task


@shared_task(name="orders.tasks.allocate_backorders", acks_late=True)
def allocate_backorders(product_ids: list[int]) -> list[str]:
    """Idempotent: an order already allocated is skipped by the service."""
    from orders.services.backorders import backorders_allocate

    return backorders_allocate(product_ids=product_ids)
