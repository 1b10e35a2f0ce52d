"""Orders > Import: a wholesale CSV file in, a preview of what would happen to each order,
and on confirm exactly that import; the ImportRun list and page (progress, counts, the
outcome of each order, the error report as CSV).

Why not django-import-export's ImportMixin: its import view is built around a Resource
that imports row by row and previews a per-row field diff (new / update / skip / error),
and it only offers the confirm button when no row has an error. Our import is per order
(rows grouped by order_ref, an order with a bad row rejected whole while the file's valid
orders go in) and the preview must say what capture would do to each order (allocated
and from where, backordered by how much, held and why, skipped as already imported). A
Resource would have to replace `import_data`, its Result and both templates, and would
still read the whole file into a tablib Dataset. So the views are our own, and they call
the import service (`orders.services.imports`), which already does the dry run in a
rolled-back transaction. What we reuse from import-export is the piece that fits: its
`MediaStorage` tmp storage keeps the uploaded bytes between preview and confirm (the
default file storage, so any web process can read it back), the way its own import view
does with `import_file_name`. Its ImportForm and ConfirmImportForm are not: they are
built around format and resource choices we do not have (ours: a file and a channel; the
confirm is one signed field). The confirm form carries a signed token (storage name,
original file name, SHA-256, channel, row count); confirm reads the stored bytes back and
refuses them unless their checksum is the one previewed, so the file imported is the file
previewed. The outcome may still differ when stock moved in between; the page says so.

Large files: above IMPORT_INLINE_MAX_ROWS data rows the preview is the parser's check
only (errors by row and column, unknown columns, how many orders), not the full
what-would-happen dry run (that would be the whole import's work, inline, twice; a dry
run in the background would need a second kind of run and page for little gain, since
the real run reports each order's outcome anyway); the page says so. Confirm queues an
ImportRun with the stored file (`import_run_queue`) and the `import_orders_run` task runs
it after the commit, while its page shows a progress bar that polls a JSON endpoint of
this admin. Small files run inline on confirm and land on the same page. Not
django-import-export-extensions for the job and progress: it runs import-export Resources
(the row-by-row path above) on its own ImportJob model; ImportRun plus a 30-line inline
script is all the progress needs.

Only users with `orders.import_orders` (superusers have every permission) see the Import
entry and button and may preview or confirm; everyone else gets a 403 there. The runs
themselves (list, page, progress, error report) are records that every role may read, as
every business record (DESIGN.md section 9); nobody adds, edits or deletes one by hand.
The pages are admin views, so every POST is CSRF-checked, and the templates escape
everything the file brought in.
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
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from import_export.tmp_storages import MediaStorage
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminFileFieldWidget, UnfoldAdminSelectWidget

from inventory.admin.base import ServiceModelAdmin, change_url, describe
from oms.core.exceptions import DomainError
from orders.admin.base import badge
from orders.admin.order_display import two_lines, when
from orders.imports.parser import parse_wholesale_csv
from orders.imports.results import ParsedFile
from orders.models import Channel, ImportRun, Order
from orders.services.imports import import_orders_file, import_run_queue, rows_text

# Above this many data rows a file is imported in the background (and previewed by the
# parser's check only). A module constant so tests and deployments can move it.
IMPORT_INLINE_MAX_ROWS = 2_000
PREVIEW_MAX_AGE = 24 * 60 * 60  # seconds a preview may wait for its confirm
PREVIEW_FOLDER = "imports/previews"  # inside the default file storage
PERMISSION = "orders.import_orders"
_SALT = "orders.admin.imports.preview"

RUN_STATUS_LABELS = {
    ImportRun.Status.QUEUED: "info",
    ImportRun.Status.RUNNING: "warning",
    ImportRun.Status.DONE: "success",
    ImportRun.Status.FAILED: "danger",
}


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


@admin.register(ImportRun)
class ImportRunAdmin(ServiceModelAdmin):
    """The imports: a read-only record per confirmed file, written by the import service."""

    list_display = [
        "file_display",
        "channel",
        "uploaded_by",
        "created",
        "status_label",
        "progress",
        "orders_created",
        "orders_skipped",
        "orders_rejected",
    ]
    list_display_links = ["file_display"]
    list_filter = ["status", "channel"]
    list_select_related = ["channel", "uploaded_by"]
    search_fields = ["filename", "checksum"]
    fieldsets = [
        (None, {"fields": [("filename", "channel"), ("uploaded_by", "checksum_display")]}),
        (
            "Run",
            {
                "fields": [
                    ("status_label", "rows_total"),
                    ("created_at", "started_at", "finished_at"),
                    ("orders_created", "orders_skipped", "orders_rejected"),
                ]
            },
        ),
    ]
    readonly_fields = [
        "filename",
        "channel",
        "uploaded_by",
        "checksum_display",
        "status_label",
        "rows_total",
        "created_at",
        "started_at",
        "finished_at",
        "orders_created",
        "orders_skipped",
        "orders_rejected",
    ]
    change_form_outer_after_template = "admin/orders/import_run.html"
    actions_list = ["import_orders"]

    # -- permissions ----------------------------------------------------------------------
    # Importing (the page, preview, confirm) needs orders.import_orders. The runs are
    # records like any other: every role reads them (DESIGN.md section 9, view_importrun),
    # nobody edits them.

    def has_import_orders_permission(self, request: HttpRequest, object_id=None) -> bool:
        return has_import_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        # Whoever imports sees the runs, their own landing page included.
        return super().has_view_permission(request, obj) or has_import_permission(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or has_import_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs come from the Import page

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    # -- columns ---------------------------------------------------------------------------

    @display(description="file", ordering="filename")
    def file_display(self, run: ImportRun) -> SafeString:
        return two_lines(run.filename, run.checksum[:12])

    @display(description="checksum (SHA-256)")
    def checksum_display(self, run: ImportRun) -> SafeString | str:
        if not run.checksum:
            return "-"
        return format_html('<code title="{}">{}…</code>', run.checksum, run.checksum[:16])

    @display(description="when", ordering="created_at")
    def created(self, run: ImportRun) -> SafeString:
        return when(run.created_at)

    @display(description="status", ordering="status")
    def status_label(self, run: ImportRun) -> SafeString:
        return badge(run.get_status_display(), RUN_STATUS_LABELS.get(run.status, ""))

    @display(description="progress")
    def progress(self, run: ImportRun) -> str:
        return f"{run.progress_percent}%"

    # -- pages -----------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/progress/",
                wrap(self.progress_view),
                name="orders_importrun_progress",
            ),
            path(
                "<path:object_id>/error-report/",
                wrap(self.error_report_view),
                name="orders_importrun_error_report",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        if run is not None:
            extra_context = {**(extra_context or {}), **run_context(run)}
        return super().change_view(request, object_id, form_url, extra_context)

    def progress_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """What the run page's progress bar polls."""
        run = self.get_object_or_404(request, object_id)
        return JsonResponse(progress_of(run))

    def error_report_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The rejected rows as CSV with a reason column, ready to fix and re-import."""
        run = self.get_object_or_404(request, object_id)
        stem = run.filename.rsplit(".", 1)[0] or "import"
        response = HttpResponse(run.error_report, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{_safe(stem)}-errors.csv"'
        return response

    @action(
        description="Import orders",
        url_path="import",
        icon="upload_file",
        permissions=["import_orders"],
    )
    def import_orders(self, request: HttpRequest):
        return import_page(self, request)


def _safe(name: str) -> str:
    """A file name fit for a Content-Disposition header."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:100] or "import"


def progress_of(run: ImportRun) -> dict:
    finished = run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED)
    return {
        "status": run.status,
        "status_display": run.get_status_display(),
        "rows_done": run.rows_done,
        "rows_total": run.rows_total,
        "percent": run.progress_percent,
        "finished": finished,
    }


def run_context(run: ImportRun) -> dict:
    return {
        "run": run,
        "run_progress": progress_of(run),
        "progress_url": reverse("admin:orders_importrun_progress", args=[run.pk]),
        "error_report_url": reverse("admin:orders_importrun_error_report", args=[run.pk]),
        "report": report_context(run.summary) if run.summary else None,
    }


# -- the Import page: upload -> preview -> confirm -----------------------------------------


def import_page(model_admin: ImportRunAdmin, request: HttpRequest) -> HttpResponse:
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
