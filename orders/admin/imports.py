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

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from unfold.decorators import action, display

from inventory.admin.base import ServiceModelAdmin
from orders.admin.base import badge
from orders.admin.import_page import has_import_permission, import_page, report_context
from orders.admin.order_display import two_lines, when
from orders.models import ImportRun

RUN_STATUS_LABELS = {
    ImportRun.Status.QUEUED: "info",
    ImportRun.Status.RUNNING: "warning",
    ImportRun.Status.DONE: "success",
    ImportRun.Status.FAILED: "danger",
}


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
