"""Periodic tasks that migrations put on django-celery-beat's schedule.

Idempotent: a task of that name that exists already (staff may have edited its schedule in
the admin) is left as it is; an identical crontab is reused. Historical models send no
signals, so a running beat is told its schedule changed.
"""

from django.conf import settings
from django.utils import timezone


def schedule_task(apps, *, name: str, task: str, minute: str, hour: str, description: str):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=name).exists():
        return
    when = {
        "minute": minute,
        "hour": hour,
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "timezone": settings.TIME_ZONE,
    }
    crontab = CrontabSchedule.objects.filter(**when).order_by("pk").first()
    if crontab is None:
        crontab = CrontabSchedule.objects.create(**when)
    PeriodicTask.objects.create(
        name=name, task=task, crontab=crontab, enabled=True, description=description
    )
    _changed(apps)


def unschedule_task(apps, *, name: str, task: str):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=name, task=task).delete()[0]:
        _changed(apps)


def _changed(apps) -> None:
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})
