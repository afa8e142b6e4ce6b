"""Call logs in the back-office: read-only (they are the phones' record) and exportable."""

from django.contrib import admin
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX

from calls.models import CallLog
from calls.resources import CallLogResource
from crm.http.admin import ReadOnlyAdmin


@admin.register(CallLog)
class CallLogAdmin(ExportMixin, ReadOnlyAdmin):
    resource_classes = [CallLogResource]
    export_formats = [CSV, XLSX]

    list_display = (
        "started_at",
        "direction",
        "phone",
        "contact",
        "user",
        "duration_seconds",
        "device_id",
    )
    list_select_related = ("user", "contact")
    list_filter = ("direction", "user")
    date_hierarchy = "started_at"
    search_fields = ("phone", "phone_normalized", "contact__name")
    list_per_page = 100
    # Counting the whole table on every page costs more than it tells on a large log.
    show_full_result_count = False
