from celery import shared_task


@shared_task(name="orders.tasks.allocate_backorders", acks_late=True)
def allocate_backorders(product_ids: list[int], order_ids: list[int] | None = None) -> list[str]:
    """Idempotent: an order already allocated is skipped by the service."""
    from orders.services.backorders import backorders_allocate

    return backorders_allocate(product_ids=product_ids, order_ids=order_ids)


@shared_task(name="orders.tasks.import_orders_run", acks_late=True)
def import_orders_run(run_id: int) -> str:
    """Run a queued wholesale import from its stored file. Idempotent: a finished run is
    left alone, and running one again (a redelivery after a lost worker) skips the orders
    it already captured. A failure marks the run failed with the reason; the chunks
    captured before it stay (each was its own transaction), never half an order."""
    from orders.services.import_runs import import_run_execute

    return import_run_execute(run_id=run_id).status
