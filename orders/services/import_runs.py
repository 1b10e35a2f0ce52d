"""Imports in the background: an uploaded file stored as an ImportRun, run by a Celery
task (orders.tasks.import_orders_run) through the same import as the command's."""

import logging
from pathlib import Path

from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone

from oms.core.exceptions import DomainError, NotFound
from orders.models import Channel, ImportRun
from orders.services.imports import import_orders_file
from orders.tasks import import_orders_run

logger = logging.getLogger(__name__)


def import_run_queue(
    *, file, filename: str = "", channel_code: str = "wholesale", actor=None
) -> ImportRun:
    """Store an uploaded file as a queued ImportRun and start it in the background once
    the run is committed (import_orders_run); the run row shows its progress."""
    channel = Channel.objects.filter(code=channel_code, active=True).first()
    if channel is None:
        raise NotFound(f"Unknown or inactive channel {channel_code!r}.", channel=channel_code)
    filename = Path(filename or getattr(file, "name", "") or "orders.csv").name[:255]
    content = ContentFile(file) if isinstance(file, bytes | bytearray) else File(file)
    with transaction.atomic():
        run = ImportRun(
            channel=channel,
            filename=filename,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
        )
        run.file.save(filename, content, save=False)
        run.save()
        transaction.on_commit(lambda: import_orders_run.delay(run.pk))
    return run


def import_run_execute(*, run_id: int) -> ImportRun:
    """Run a queued (or failed, or interrupted) ImportRun from its stored file; a done run
    is left alone. A failure marks the run failed with the reason and is not raised: the
    run row is where staff look. Orders captured before it stay (each chunk commits on its
    own) and a re-run skips them."""
    run = ImportRun.objects.select_related("channel", "uploaded_by").get(pk=run_id)
    if run.status == ImportRun.Status.DONE:
        return run
    try:
        with run.file.open("rb") as stream:
            import_orders_file(
                stream,
                filename=run.filename,
                channel_code=run.channel.code,
                actor=run.uploaded_by,
                run=run,
            )
    except DomainError as exc:
        import_run_fail(run=run, message=exc.message)
    except Exception as exc:
        logger.exception("Import run %s failed", run.pk)
        import_run_fail(run=run, message=f"{type(exc).__name__}: {exc}")
    return run


def import_run_fail(*, run: ImportRun, message: str) -> ImportRun:
    """Mark a run failed, with the reason."""
    run.status = ImportRun.Status.FAILED
    run.message = message[:5000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "message", "finished_at"])
    return run
