"""The admin's import page: upload, preview (a dry run, per order), confirm (signed with
the file's checksum), and the report; large files go to a background ImportRun.
"""

import hashlib
from dataclasses import asdict, dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from import_export.tmp_storages import MediaStorage
from unfold.widgets import UnfoldAdminFileFieldWidget, UnfoldAdminSelectWidget

from inventory.admin.base import change_url, describe
from oms.core.exceptions import DomainError
from orders.admin.base import badge
from orders.imports.parser import parse_wholesale_csv
from orders.imports.results import ParsedFile
from orders.models import Channel, Order
from orders.services.import_report import rows_text
from orders.services.import_runs import import_run_queue
from orders.services.imports import import_orders_file

# Above this many data rows a file is imported in the background (and previewed by the
# parser's check only). A module constant so tests and deployments can move it.
IMPORT_INLINE_MAX_ROWS = 2_000
PREVIEW_MAX_AGE = 24 * 60 * 60  # seconds a preview may wait for its confirm
PREVIEW_FOLDER = "imports/previews"  # inside the default file storage
PERMISSION = "orders.import_orders"
_SALT = "orders.admin.imports.preview"


class ImportFileForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, comma separated, one row per order line, the header in the first row.",
        widget=UnfoldAdminFileFieldWidget(attrs={"accept": ".csv,text/csv"}),
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.filter(active=True).order_by("code"),
        to_field_name="code",
        empty_label=None,
        help_text="The channel the orders come in on; each order_ref is unique per channel.",
        widget=UnfoldAdminSelectWidget,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].initial = "wholesale"


@dataclass(frozen=True)
class Pending:
    """A previewed file waiting for its confirm; travels in the page as a signed token."""

    name: str  # the tmp storage's name of the stored bytes
    filename: str
    checksum: str
    channel: str
    rows: int

    @property
    def background(self) -> bool:
        return self.rows > IMPORT_INLINE_MAX_ROWS

    def token(self) -> str:
        return signing.dumps(asdict(self), salt=_SALT, compress=True)

    @classmethod
    def from_token(cls, token: str) -> "Pending":
        return cls(**signing.loads(token, salt=_SALT, max_age=PREVIEW_MAX_AGE))

    def storage(self) -> MediaStorage:
        return _storage(self.name)


def _storage(name: str | None = None) -> MediaStorage:
    return MediaStorage(name=name, MEDIA_FOLDER=PREVIEW_FOLDER)


def _sweep_previews() -> None:
    """Remove the stored files of previews never confirmed, once their token expired."""
    store = storages["import_export" if "import_export" in settings.STORAGES else "default"]
    try:
        _folders, names = store.listdir(PREVIEW_FOLDER)
    except (OSError, NotImplementedError):
        return  # no preview stored yet
    cutoff = timezone.now() - timedelta(seconds=PREVIEW_MAX_AGE)
    for name in names:
        path = f"{PREVIEW_FOLDER}/{name}"
        try:
            if store.get_modified_time(path) < cutoff:
                store.delete(path)
        except (OSError, NotImplementedError):
            continue  # removed meanwhile, or a storage that cannot tell: leave it


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def has_import_permission(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.has_perm(PERMISSION)


def import_page(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not has_import_permission(request):
        raise PermissionDenied
    if request.method == "POST" and "token" in request.POST:
        return _confirm(request)
    form = ImportFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        preview = _preview(request, form)
        if preview is not None:
            return model_admin.render_page(
                request, "admin/orders/import_preview.html", title="Import preview", **preview
            )
    return model_admin.render_page(
        request,
        "admin/orders/import_form.html",
        title="Import orders",
        form=form,
        inline_max_rows=IMPORT_INLINE_MAX_ROWS,
    )


def _preview(request: HttpRequest, form: ImportFileForm) -> dict | None:
    """Store the upload, then check it (large files) or dry-run it (the rest). None when
    the file could not be read or the service refused it (the reason is a message)."""
    upload = form.cleaned_data["file"]
    channel: Channel = form.cleaned_data["channel"]
    data = b"".join(upload.chunks())
    _sweep_previews()
    parsed = parse_wholesale_csv(data, default_currency=channel.currency)
    storage = _storage()
    storage.save(data)
    pending = Pending(
        name=storage.name,
        filename=upload.name,
        checksum=checksum(data),
        channel=channel.code,
        rows=parsed.rows,
    )
    context = {
        "pending": pending,
        "token": pending.token(),
        "channel": channel,
        "inline_max_rows": IMPORT_INLINE_MAX_ROWS,
        "form_url": reverse("admin:orders_importrun_import_orders"),
    }
    if pending.background:
        context["parsed"] = parsed_context(parsed)
        return context
    try:
        report = import_orders_file(
            data, filename=upload.name, channel_code=channel.code, actor=request.user, dry_run=True
        )
    except DomainError as error:
        storage.remove()
        messages.error(request, describe(error))
        return None
    summary = report.summary(limit=IMPORT_INLINE_MAX_ROWS)
    context["report"] = report_context(summary, errors=report.row_errors)
    return context


def _confirm(request: HttpRequest) -> HttpResponse:
    actor = request.user
    form_url = reverse("admin:orders_importrun_import_orders")
    try:
        pending = Pending.from_token(request.POST["token"])
    except signing.SignatureExpired:
        messages.error(request, "This preview is too old; upload the file again.")
        return HttpResponseRedirect(form_url)
    except (signing.BadSignature, TypeError, ValueError):
        messages.error(request, "This preview could not be read; upload the file again.")
        return HttpResponseRedirect(form_url)
    storage = pending.storage()
    try:
        data = storage.read()
    except OSError:
        messages.error(
            request,
            "The previewed file is no longer stored (was it confirmed already?). "
            "See the list of imports, or upload the file again.",
        )
        return HttpResponseRedirect(reverse("admin:orders_importrun_changelist"))
    if checksum(data) != pending.checksum:
        messages.error(
            request,
            "The stored file is not the one previewed (its checksum differs); nothing was "
            "imported. Upload the file again.",
        )
        return HttpResponseRedirect(form_url)
    # Claim the preview before importing: a second confirm (a double click) finds it gone.
    storage.remove()
    try:
        if pending.background:
            run = import_run_queue(
                file=data, filename=pending.filename, channel_code=pending.channel, actor=actor
            )
            messages.info(
                request,
                f"{pending.filename}: {pending.rows} rows queued; this page follows the import.",
            )
        else:
            run = import_orders_file(
                data, filename=pending.filename, channel_code=pending.channel, actor=actor
            ).run
            messages.success(
                request,
                f"{pending.filename} imported: {run.orders_created} created, "
                f"{run.orders_skipped} skipped, {run.orders_rejected} rejected.",
            )
    except DomainError as error:
        messages.error(request, f"Nothing was imported: {describe(error)} Upload the file again.")
        return HttpResponseRedirect(form_url)
    return HttpResponseRedirect(change_url(run))


# -- what the pages show ---------------------------------------------------------------------

OUTCOME_LABELS = {
    Order.Status.ALLOCATED: "success",
    Order.Status.BACKORDERED: "warning",
    Order.Status.ON_HOLD: "danger",
}


def _order_rows(entries: list[dict], *, verdict: str = "", kind: str = "") -> list[dict]:
    """The report's (or a run summary's) entries for a table. A created order's badge is
    its status, coloured, beside the sentence saying what happened; skipped and rejected
    orders get `verdict` and their reasons. Numbers link to the order."""
    orders_url = reverse("admin:orders_order_changelist")
    rows = []
    for entry in entries:
        number = entry.get("number") or ""
        status = entry.get("status") or ""
        text = entry.get("outcome") or ""
        if verdict:
            label, colour = verdict, kind
            text = "" if text.lower() == verdict.lower() else text
        else:
            label = dict(Order.Status.choices).get(status, status or "-")
            colour = OUTCOME_LABELS.get(status, "info")
        rows.append(
            {
                "ref": entry.get("ref", ""),
                "rows": rows_text(entry.get("rows") or []),
                "number": number,
                "url": f"{orders_url}?{urlencode({'q': number})}" if number else "",
                "badge": badge(label, colour),
                "text": text,
                "reasons": entry.get("reasons") or [],
            }
        )
    return rows


def _counts(*items: tuple[str, str, int, str]) -> list[dict]:
    return [
        {"key": key, "label": label, "value": value, "class": css if value else ""}
        for key, label, value, css in items
    ]


def report_context(summary: dict, errors: list | None = None) -> dict:
    """An import's outcome for the pages, from ImportReport.summary() (the preview) or
    ImportRun.summary (a run's page): the same shape either way."""
    dry = bool(summary.get("dry_run"))
    created_entries = summary.get("created") or []
    if dry:  # a dry run's numbers were rolled back with it: they name no order
        created_entries = [{**entry, "number": ""} for entry in created_entries]
    counts = summary.get("counts") or {}
    created, skipped, rejected = (counts.get(k, 0) for k in ("created", "skipped", "rejected"))
    return {
        "created": _order_rows(created_entries),
        "created_numbered": not dry,
        "skipped": _order_rows(summary.get("skipped") or [], verdict="Skipped"),
        "rejected": _order_rows(summary.get("rejected") or [], verdict="Rejected", kind="danger"),
        "errors": errors or [],
        "file_errors": summary.get("file_errors") or [],
        "unknown_columns": summary.get("unknown_columns") or [],
        "truncated": summary.get("truncated", False),
        "counts": _counts(
            (
                "created",
                "To create" if dry else "Created",
                created,
                "text-green-700",
            ),
            ("skipped", "Skipped: already imported", skipped, ""),
            ("rejected", "Rejected", rejected, "text-red-700"),
            ("customers", "New customers", len(summary.get("customers_created") or []), ""),
        ),
    }


def parsed_context(parsed: ParsedFile) -> dict:
    """The parser's check of a large file, in the report's shape: orders that passed the
    check (what happens to them is not worked out), orders with errors, every error."""
    return {
        "created": [],
        "skipped": [],
        "rejected": _order_rows(
            [
                {
                    "ref": ref,
                    "rows": sorted({error.row for error in errors if error.row}),
                }
                for ref, errors in parsed.rejected.items()
            ],
            verdict="Rejected",
            kind="danger",
        ),
        "errors": parsed.errors,
        "file_errors": [],  # the errors table has them all
        "unknown_columns": parsed.unknown_columns,
        "truncated": False,
        "counts": _counts(
            ("rows", "Rows", parsed.rows, ""),
            ("orders", "Orders that pass the check", len(parsed.orders), "text-green-700"),
            ("rejected", "Orders with errors", len(parsed.rejected), "text-red-700"),
            ("errors", "Errors", len(parsed.errors), "text-red-700"),
        ),
    }
