from django.db.models import QuerySet

from calls.models import CallLog
from crm.timefmt import iso_utc

CALL_FIELDS = (
    "id",
    "user_id",
    "contact_id",
    "phone",
    "phone_normalized",
    "direction",
    "started_at",
    "duration_seconds",
    "device_id",
    "client_call_id",
    "version",
)


def call_row_to_dict(row: dict) -> dict:
    return {
        "id": str(row["id"]),
        "user": str(row["user_id"]),
        "contact": str(row["contact_id"]) if row["contact_id"] else None,
        "phone": row["phone"],
        "phone_normalized": row["phone_normalized"],
        "direction": row["direction"],
        "started_at": iso_utc(row["started_at"]),
        "duration_seconds": row["duration_seconds"],
        "device_id": row["device_id"],
        "client_call_id": row["client_call_id"],
        "version": row["version"],
    }


def call_to_dict(call: CallLog) -> dict:
    return call_row_to_dict({name: getattr(call, name) for name in CALL_FIELDS})


def call_list() -> QuerySet[CallLog]:
    """Newest first; (started_at, id) keeps the order stable for equal start times."""
    return CallLog.objects.order_by("-started_at", "-id")


def call_page_rows(queryset: QuerySet[CallLog]) -> QuerySet:
    """Plain rows for list pages: no model instances, rendered by call_row_to_dict."""
    return queryset.values(*CALL_FIELDS)
