"""The ledger in the back-office: read-only. Feeds are moved by writers and the operator
commands, the activity log by the services."""

from django.contrib import admin

from crm.http.admin import ReadOnlyAdmin
from ledger.models import Activity, ChangeFeed


@admin.register(ChangeFeed)
class ChangeFeedAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "epoch", "purged_through", "purged_at")


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "object_type", "object_repr")
    list_select_related = ("actor",)
    list_filter = ("action", "object_type")
    search_fields = ("object_repr", "object_id")
    date_hierarchy = "created_at"
    show_full_result_count = False
