"""Schedule inventory.tasks.replenishment_daily at 05:00 every day (django-celery-beat).

Idempotent: an existing "Daily replenishment" task (staff may have edited its schedule in
the admin) is left as it is; the 05:00 crontab is reused when it exists already.
"""

from django.db import migrations

from oms.core.schedules import schedule_task, unschedule_task

TASK_NAME = "Daily replenishment"
TASK = "inventory.tasks.replenishment_daily"


def schedule(apps, schema_editor):
    schedule_task(
        apps,
        name=TASK_NAME,
        task=TASK,
        minute="0",
        hour="5",
        description=(
            "Drafts purchase orders for stock at or below its reorder point "
            "(inventory.services.replenishment.replenishment_run)."
        ),
    )


def unschedule(apps, schema_editor):
    unschedule_task(apps, name=TASK_NAME, task=TASK)


class Migration(migrations.Migration):
    dependencies = [
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("inventory", "0002_stock_reservations_purchasing_transfers_counts"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
