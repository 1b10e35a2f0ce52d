from django.core.management.base import BaseCommand, CommandError

from oms.console.invariants import CHECKS, all_violations


class Command(BaseCommand):
    help = "Check DESIGN.md's invariants; print each violation and exit 1 if there is any."

    def handle(self, *args, **options):
        found = 0
        for message in all_violations():
            found += 1
            self.stdout.write(message)
        if found:
            raise CommandError(f"{found} invariant violation(s).")
        self.stdout.write(f"All invariants hold ({', '.join(CHECKS)}).")
