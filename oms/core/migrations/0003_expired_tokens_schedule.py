"""Schedule oms.core.tasks.delete_expired_tokens hourly (django-celery-beat)."""

from django.db import migrations

from oms.core.schedules import schedule_task, unschedule_task

TASK_NAME = "Delete expired API tokens"
TASK = "oms.core.tasks.delete_expired_tokens"


def schedule(apps, schema_editor):
    schedule_task(
        apps,
        name=TASK_NAME,
        task=TASK,
        minute="17",
        hour="*",
        description="API requests check only their own token's expiry; this deletes the rest.",
    )


def unschedule(apps, schema_editor):
    unschedule_task(apps, name=TASK_NAME, task=TASK)


class Migration(migrations.Migration):
    dependencies = [
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("core", "0002_outbox_topic_unindexed"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
