"""Inventory's Celery tasks: thin wrappers that take ids, load, and call one service."""

import logging

from celery import shared_task
from django.db import OperationalError

from inventory.models import Location
from inventory.services.replenishment import replenishment_run

logger = logging.getLogger(__name__)


@shared_task(
    name="inventory.tasks.replenishment_daily",
    acks_late=True,
    # A lock timeout or deadlock victim on PostgreSQL: the whole run rolled back, so
    # trying again is safe.
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def replenishment_daily(location_id: int | None = None) -> list[str]:
    """Draft today's replenishment purchase orders (all active locations, or one) and
    return their numbers. Idempotent: replenishment_run counts drafts as on order, so a
    redelivered or repeated task orders nothing twice (and returns [])."""
    location = None
    if location_id is not None:
        location = Location.objects.filter(pk=location_id).first()
        if location is None:
            logger.warning("replenishment_daily: location %s does not exist.", location_id)
            return []
    return [purchase_order.number for purchase_order in replenishment_run(location=location)]
