"""Call logs in the back-office: read-only (they are the phones' record) and exportable."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX

from calls.models import CallLog, OwnNumber
from calls.resources import CallLogResource
from calls.selectors import (
    EXPORT_HEADER,
    call_export_cells,
    call_export_rows,
    calls_to_blocked_numbers,
    unknown_callers,
)
from contacts.errors import ContactInvalid
from contacts.services import ContactInput, contact_create
from contacts.text import search_key
from crm.http.admin import ReadOnlyAdmin, StreamedExportMixin
from crm.phones import InvalidPhone, phone_digits, phone_display, phone_normalize
from crm.text import duration_text


@admin.register(CallLog)
class CallLogAdmin(StreamedExportMixin, ExportMixin, ReadOnlyAdmin):
    resource_classes = [CallLogResource]
    export_formats = [CSV, XLSX]
    export_filename = "calls"
    import_export_change_list_template = "admin/calls/calllog/change_list_calls.html"
    export_header = EXPORT_HEADER

    def export_stream(self, queryset):
        return call_export_rows(queryset), call_export_cells

    list_display = ("started_at", "direction", "number", "contact_name", "agent", "duration")
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

    @admin.display(description="contact", ordering="contact__name_search")
    def contact_name(self, call: CallLog) -> str:
        return call.contact.name if call.contact_id else "-"

    @admin.display(description="agent", ordering="user__name")
    def agent(self, call: CallLog) -> str:
        return call.user.name or call.user.email

    @admin.display(description="number", ordering="phone_normalized")
    def number(self, call: CallLog) -> str:
        return phone_display(call.phone_normalized) or call.phone or "unknown"

    @admin.display(description="duration", ordering="duration_seconds")
    def duration(self, call: CallLog) -> str:
        return duration_text(call.duration_seconds)

    def lookup_allowed(self, lookup, value, request=None):
        # A contact's and a user's pages link to their calls as ?contact__id__exact=<id>.
        return lookup in ("contact__id__exact", "user__id__exact") or super().lookup_allowed(
            lookup, value, request
        )

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
        wrap = self.admin_site.admin_view
        return [
            path("dnc-report/", wrap(self.dnc_report_view), name="calls_calllog_dnc_report"),
            path(
                "unknown-callers/",
                wrap(self.unknown_callers_view),
                name="calls_calllog_unknown_callers",
            ),
            *super().get_urls(),
        ]

    def unknown_callers_view(self, request):
        """The unknown-caller inbox: numbers in no contact (not DNC, not the team's own),
        grouped, latest first; "create contact" makes one through the contacts service, which
        links the number's calls to it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._create_contact(request)
        return TemplateResponse(request, "admin/calls/calllog/unknown_callers.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": "Unknown callers", "callers": unknown_callers(now=timezone.now()),
            "may_create": request.user.has_perm("contacts.add_contact"),
        })  # fmt: skip

    def _create_contact(self, request):
        if not request.user.has_perm("contacts.add_contact"):
            raise PermissionDenied
        here = reverse("admin:calls_calllog_unknown_callers")
        phone, name = request.POST.get("phone", ""), request.POST.get("name", "")
        try:
            outcome = contact_create(actor=request.user, item=ContactInput(name=name, phone=phone))
        except ContactInvalid as exc:
            self.message_user(request, " ".join(m for ms in exc.errors.values() for m in ms),
                              messages.ERROR)  # fmt: skip
            return HttpResponseRedirect(here)
        contact = outcome.contact
        linked = CallLog.objects.filter(contact=contact).count()
        self.message_user(request, format_html(
            '<a href="{}">{}</a> created; its {} call(s) now show under it.',
            reverse("admin:contacts_contact_change", args=[contact.pk]), contact.name, linked,
        ), messages.SUCCESS)  # fmt: skip
        return HttpResponseRedirect(here)

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


class OwnNumberForm(forms.ModelForm):
    class Meta:
        model = OwnNumber
        fields = ("phone", "label")

    def clean_phone(self):
        phone = self.cleaned_data["phone"]
        try:
            self.instance.phone_normalized = phone_normalize(phone)
        except InvalidPhone as exc:
            raise forms.ValidationError(str(exc)) from None
        taken = OwnNumber.objects.filter(phone_normalized=self.instance.phone_normalized)
        if taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("This number is listed already.")
        return phone.strip()


@admin.register(OwnNumber)
class OwnNumberAdmin(admin.ModelAdmin):
    """The team's own numbers, which the unknown-caller inbox leaves out."""

    form = OwnNumberForm
    list_display = ("phone_normalized", "label")
    search_fields = ("phone_normalized", "label")
