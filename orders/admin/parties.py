"""Channels and customers: plain records, edited in the console."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin

from orders.models import Channel, Customer


@admin.register(Channel)
class ChannelAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "currency",
        "ship_within_hours",
        "priority",
        "allow_split",
        "routing_policy",
        "active",
    ]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ["name", "code", "kind", "email", "credit_limit", "payment_terms_days"]
    list_filter = ["kind"]
    search_fields = ["name", "code", "email", "phone"]
