from django.contrib import admin
from django.http import HttpRequest
from unfold.admin import ModelAdmin

from oms.core.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(ModelAdmin):
    """Events waiting to leave, and the log of those that left. Read-only: only the
    delivery worker changes them."""

    list_display = [
        "id",
        "topic",
        "aggregate_type",
        "aggregate_id",
        "status",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "topic"]
    search_fields = ["topic", "aggregate_id"]
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
