"""Call logs in the back-office: read-only (they are the phones' record) and exportable."""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX

from calls.models import CallLog
from calls.resources import CallLogResource
from calls.selectors import (
    EXPORT_HEADER,
    call_export_cells,
    call_export_rows,
    calls_to_blocked_numbers,
)
from contacts.text import search_key
from crm.http.admin import ReadOnlyAdmin, StreamedExportMixin
from crm.phones import phone_digits


@admin.register(CallLog)
class CallLogAdmin(StreamedExportMixin, ExportMixin, ReadOnlyAdmin):
    resource_classes = [CallLogResource]
    export_formats = [CSV, XLSX]
    export_filename = "calls"
    export_header = EXPORT_HEADER

    def export_stream(self, queryset):
        return call_export_rows(queryset), call_export_cells

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
    search_fields = ("phone", "contact__name")
    search_help_text = (
        "The caller's name (accents and case do not matter) or a number in any format."
    )
    list_per_page = 100
    # Counting the whole table on every page costs more than it tells on a large log.
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        """The contact's folded name (as the API's search folds it) or the number's digits."""
        key, digits = search_key(search_term), phone_digits(search_term)
        if not key:
            return queryset, False
        condition = Q(contact__name_search__contains=key) | Q(phone__icontains=search_term.strip())
        if len(digits) >= 3:
            condition |= Q(phone_normalized__contains=digits)
        return queryset.filter(condition), False

    def get_urls(self):
        report = self.admin_site.admin_view(self.dnc_report_view)
        return [path("dnc-report/", report, name="calls_calllog_dnc_report"), *super().get_urls()]

    def dnc_report_view(self, request):
        """Compliance: outgoing calls to numbers that were on a do-not-call list then, per
        agent per day, and the latest such calls with the entry that blocked them."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        days = ReportForm(request.GET or None)
        span = days.cleaned_data["days"] if days.is_valid() else 30
        until = timezone.now()
        report = calls_to_blocked_numbers(since=until - timedelta(days=span), until=until)
        return TemplateResponse(request, "admin/calls/calllog/dnc_report.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "days": span,
            "title": "Calls to do-not-call numbers", **report,
        })  # fmt: skip


class ReportForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=366, required=False)
