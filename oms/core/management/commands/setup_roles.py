from django.core.management.base import BaseCommand

from oms.core.roles import roles_setup


class Command(BaseCommand):
    help = "Create or update the staff role groups (Support, Warehouse, Inventory, Finance, Admin)."

    def handle(self, *args, **options):
        for role, count in roles_setup().items():
            self.stdout.write(f"{role}: {count} permissions")
