"""Schedule oms.core.tasks.delete_expired_tokens hourly (django-celery-beat).

Idempotent, as inventory 0003: an existing task of that name is left as staff set it.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TASK_NAME = "Delete expired API tokens"
TASK = "oms.core.tasks.delete_expired_tokens"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    hourly = {
        "minute": "17",
        "hour": "*",
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "timezone": settings.TIME_ZONE,
    }
    crontab = CrontabSchedule.objects.filter(**hourly).order_by("pk").first()
    if crontab is None:
        crontab = CrontabSchedule.objects.create(**hourly)
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task=TASK,
        crontab=crontab,
        enabled=True,
        description="API requests check only their own token's expiry; this deletes the rest.",
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=TASK_NAME, task=TASK).delete()[0]:
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("core", "0002_outbox_topic_unindexed"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
