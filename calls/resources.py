"""Call logs out to spreadsheets (export only: calls come from the phones, never from a file)."""

from import_export import fields, resources

from calls.models import CallLog
from contacts.resources import SpreadsheetSafeMixin
from crm.timestamps import iso_utc


class CallLogResource(SpreadsheetSafeMixin, resources.ModelResource):
    started_at = fields.Field(column_name="started_at", readonly=True)
    user_email = fields.Field(attribute="user__email", column_name="user_email", readonly=True)
    contact_name = fields.Field(
        attribute="contact__name", column_name="contact_name", readonly=True
    )
    contact_id = fields.Field(attribute="contact_id", column_name="contact_id", readonly=True)

    class Meta:
        model = CallLog
        fields = (
            "id",
            "started_at",
            "direction",
            "duration_seconds",
            "phone",
            "phone_normalized",
            "user_email",
            "contact_id",
            "contact_name",
            "device_id",
            "client_call_id",
        )
        export_order = fields

    def get_queryset(self):
        return CallLog.objects.select_related("user", "contact").order_by("-started_at", "-id")

    def dehydrate_started_at(self, call: CallLog) -> str:
        # ISO 8601 in UTC, as the API answers (and text in XLSX, which has no timezones).
        return iso_utc(call.started_at)
