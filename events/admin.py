"""Open event streams, read-only: who is connected, on which node, since when."""

from django.contrib import admin

from crm.http.admin import ReadOnlyAdmin
from events.models import Stream


@admin.register(Stream)
class StreamAdmin(ReadOnlyAdmin):
    list_display = ("user", "device", "node", "opened_at", "seen_at")
    list_select_related = ("user", "device")
    search_fields = ("user__email", "node")
    ordering = ("-opened_at",)
