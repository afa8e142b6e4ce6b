from django.db.models import QuerySet

from calls.models import CallLog
from crm.timestamps import iso_utc
from dnc.selectors import dnc_blocked_at

# A call's representation: every column but the server's own receipt time.
CALL_FIELDS = tuple(f.attname for f in CallLog._meta.concrete_fields if f.attname != "created_at")


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
        **({"dnc": row["dnc"]} if "dnc" in row else {}),  # REST reads only
    }


def call_to_dict(call: CallLog) -> dict:
    return call_row_to_dict({name: getattr(call, name) for name in CALL_FIELDS})


def call_rows_flagged(rows) -> list[dict]:
    """A page of call rows, each with ``dnc``: its number was on an active do-not-call entry
    at ``started_at`` (one query for the page). Computed on read; the feed does not carry it."""
    rows = list(rows)
    blocked = dnc_blocked_at([(row["phone_normalized"], row["started_at"]) for row in rows])
    return [{**row, "dnc": (row["phone_normalized"], row["started_at"]) in blocked} for row in rows]


def call_list() -> QuerySet[CallLog]:
    """Newest first; (started_at, id) keeps the order stable for equal start times."""
    return CallLog.objects.order_by("-started_at", "-id")


def call_rows(queryset: QuerySet[CallLog]) -> QuerySet:
    """Plain rows for list pages and the sync feed: no model instances, rendered by
    call_row_to_dict."""
    return queryset.values(*CALL_FIELDS)
