"""Schedule inventory.tasks.replenishment_daily at 05:00 every day (django-celery-beat).

Idempotent: an existing "Daily replenishment" task (staff may have edited its schedule in
the admin) is left as it is; the 05:00 crontab is reused when it exists already.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TASK_NAME = "Daily replenishment"
TASK = "inventory.tasks.replenishment_daily"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    at_five = {
        "minute": "0",
        "hour": "5",
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "timezone": settings.TIME_ZONE,
    }
    crontab = CrontabSchedule.objects.filter(**at_five).order_by("pk").first()
    if crontab is None:
        crontab = CrontabSchedule.objects.create(**at_five)
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task=TASK,
        crontab=crontab,
        enabled=True,
        description=(
            "Drafts purchase orders for stock at or below its reorder point "
            "(inventory.services.replenishment.replenishment_run)."
        ),
    )
    # Historical models send no signals: tell a running beat that its schedule changed.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=TASK_NAME, task=TASK).delete()[0]:
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("inventory", "0002_stock_reservations_purchasing_transfers_counts"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
