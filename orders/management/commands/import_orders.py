"""`manage.py import_orders FILE [--channel wholesale] [--dry-run]`: import a wholesale CSV
(wholesale-csv.md) from the shell, through the same service as the admin. Prints what
became of every order; exits 1 when any order (or the file) was rejected."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from oms.core.exceptions import DomainError
from orders.services.import_report import ImportReport, OrderResult, rows_text
from orders.services.imports import CHUNK_SIZE, import_orders_file


class Command(BaseCommand):
    help = (
        "Import a wholesale order CSV into a channel. Orders already imported are skipped; "
        "an order with any bad row is rejected whole and the others are imported. "
        "--dry-run reports exactly what would happen and writes nothing. "
        "Exits 1 when any order was rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file.")
        parser.add_argument("--channel", default="wholesale", help="Channel code (wholesale).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would happen; write nothing."
        )
        parser.add_argument(
            "--user", help="Username the orders' timelines name as the importer (optional)."
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=CHUNK_SIZE,
            help=f"Orders per capture batch ({CHUNK_SIZE}).",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be 1 or more.")
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']!r}.")
        try:
            report = import_orders_file(
                path,
                filename=path.name,
                channel_code=options["channel"],
                actor=actor,
                dry_run=options["dry_run"],
                chunk_size=options["chunk_size"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.print_report(report)
        if not report.ok:
            raise CommandError(
                f"{len(report.rejected)} order(s) rejected"
                + (f", {len(report.file_errors)} file problem(s)" if report.file_errors else "")
                + (": nothing was written (dry run)." if report.dry_run else "."),
                returncode=1,
            )

    def print_report(self, report: ImportReport) -> None:
        out = self.stdout
        if report.dry_run:
            out.write(
                f"Dry run of {report.filename} into {report.channel} ({report.rows_total} rows): "
                f"would create {len(report.created)}, skip {len(report.skipped)}, "
                f"reject {len(report.rejected)}. Nothing was written."
            )
        else:
            out.write(
                f"Imported {report.filename} into {report.channel} ({report.rows_total} rows): "
                f"created {len(report.created)}, skipped {len(report.skipped)}, "
                f"rejected {len(report.rejected)}."
            )
        if report.unknown_columns:
            out.write(f"Unknown columns, ignored: {', '.join(report.unknown_columns)}")
        if report.customers_created:
            verb = "Would create" if report.dry_run else "Created"
            out.write(f"{verb} wholesale customers: {', '.join(report.customers_created)}")
        for problem in report.file_errors:
            out.write(self.style.ERROR(f"File: {problem}"))
        self.section("Would create" if report.dry_run else "Created", report.created)
        self.section("Would skip" if report.dry_run else "Skipped", report.skipped)
        self.section("Rejected", report.rejected, style=self.style.ERROR)

    def section(self, title: str, results: list[OrderResult], style=None) -> None:
        if not results:
            return
        self.stdout.write(f"{title}:")
        for result in results:
            head = f"  {result.ref} ({rows_text(result.rows)})"
            if result.outcome == "created":
                line = f"{head} → {result.number}: {result.text}"
                if result.reasons:
                    line += f" ({'; '.join(result.reasons)})"
                self.stdout.write(line)
            elif result.outcome == "skipped":
                self.stdout.write(f"{head}: {'; '.join(result.reasons)}")
            else:
                self.stdout.write(style(head + ":") if style else head + ":")
                for reason in result.reasons:
                    self.stdout.write(f"    {reason}")
