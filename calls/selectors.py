import uuid

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Count, Max, OuterRef, Q, QuerySet

from calls.models import CallLog, OwnNumber
from crm.db.prepared import rows_counted
from crm.timestamps import iso_utc
from dnc.models import DncEntry, DncList
from dnc.selectors import dnc_blocked, dnc_blocked_at

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


_CONTACT = uuid.uuid4()  # where a contact's id goes in ContactCalls' compiled statement


class ContactCalls:
    """One contact's calls as a list page pages them (crm.http.pagination: ``page_and_total``):
    call_rows of call_list() filtered on the contact, with their count, in one statement
    compiled once per process (crm.db.prepared.rows_counted) and prepared per connection. The
    calls list answers ``?contact=<id>`` alone with it: a phone's contact screen."""

    def __init__(self, contact_id: uuid.UUID):
        self.contact_id = contact_id

    def page_and_total(self, offset: int, limit: int) -> tuple[list[dict], int, bool]:
        rows, total = rows_counted(
            lambda: call_rows(call_list().filter(contact_id=_CONTACT)), ("calls.of_contact",),
            {_CONTACT: self.contact_id}, offset, limit,
        )  # fmt: skip
        return rows, total, False


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


# --- compliance: outgoing calls to numbers that were blocked ------------------------------

# The entries that blocked a call: added by then, not expired by then, and live or deleted only
# after it. Asked per call (LATERAL), live and deleted entries apart, so that each half is one
# probe of its own number index (dnc_entry_number_idx, dnc_entry_deleted_number_idx): a join
# of the calls with every entry hashed the whole registry first, 20 s for 30 days of calls
# against 10,000,000 numbers, against 0.9 s this way.
_ENTRIES_THEN = (
    "SELECT x.list_id, x.reason FROM {entry} x WHERE x.phone_normalized = c.phone_normalized "
    "AND {deleted} AND x.created_at <= c.started_at "
    "AND (x.expires_at IS NULL OR x.expires_at > c.started_at)"
)
_BLOCKED_CALLS = """
SELECT {select} FROM {call} c
  JOIN LATERAL ({live} UNION ALL {deleted_after}) e ON true
  JOIN {list} l ON l.id = e.list_id AND l.active AND l.deleted_at IS NULL
  JOIN {user} u ON u.id = c.user_id
 WHERE c.direction = 'outgoing' AND c.started_at >= %s AND c.started_at < %s
"""


def _blocked_sql(select: str) -> str:
    users = CallLog._meta.get_field("user").related_model._meta.db_table
    entry = DncEntry._meta.db_table
    return _BLOCKED_CALLS.format(
        select=select, call=CallLog._meta.db_table, list=DncList._meta.db_table, user=users,
        live=_ENTRIES_THEN.format(entry=entry, deleted="x.deleted_at IS NULL"),
        deleted_after=_ENTRIES_THEN.format(entry=entry, deleted="x.deleted_at > c.started_at"),
    )  # fmt: skip


def calls_to_blocked_per_day(*, since, until, zone: str = "UTC") -> list[tuple]:
    """Outgoing calls whose number was on an active do-not-call entry when they started:
    (day in ``zone``, agent's email, count), newest day first (one grouped query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _blocked_sql("(c.started_at AT TIME ZONE %s)::date, u.email, count(DISTINCT c.id)")
            + " GROUP BY 1, 2 ORDER BY 1 DESC, 2",
            [zone, since, until],
        )
        return cursor.fetchall()


def calls_to_blocked_numbers(*, since, until, limit: int = 500) -> dict:
    """The compliance report: outgoing calls whose number was on an active do-not-call entry
    when they started, per agent per day (one grouped query), and the latest of them with the
    entry that blocked each (one query)."""
    per_day = calls_to_blocked_per_day(since=since, until=until)
    with connection.cursor() as cursor:
        cursor.execute(
            _blocked_sql("c.started_at, u.email, c.phone_normalized, l.name, e.reason, c.id")
            + " ORDER BY c.started_at DESC LIMIT %s",
            [since, until, limit],
        )
        calls = cursor.fetchall()
    return {"per_day": per_day, "calls": calls}


# --- export ----------------------------------------------------------------------------------

EXPORT_HEADER = (
    "id", "started_at", "direction", "duration_seconds", "phone", "phone_normalized",
    "user_email", "contact_id", "contact_name", "device_id", "client_call_id",
)  # fmt: skip
_EXPORT_VALUES = (
    "id", "started_at", "direction", "duration_seconds", "phone", "phone_normalized",
    "user__email", "contact_id", "contact__name", "device_id", "client_call_id",
)  # fmt: skip


def call_export_rows(queryset: QuerySet[CallLog]):
    """The rows of an export, read through a server-side cursor (constant memory)."""
    return queryset.values_list(*_EXPORT_VALUES).iterator(chunk_size=2000)


def call_export_cells(row: tuple) -> list:
    return [str(row[0]), *row[1:7], str(row[7]) if row[7] else "", *row[8:]]


# --- the unknown-caller inbox ---------------------------------------------------------------


def unknown_callers(*, now, limit: int = 200) -> list[dict]:
    """Numbers that called or were called and are in no contact, not on a do-not-call list
    now and not the team's own, the latest first: {"phone_normalized", "phone" (as last
    written), "calls", "last_call_at", "missed", "users"} (one query)."""
    calls = (
        CallLog.objects.filter(contact__isnull=True)
        .exclude(phone_normalized="")
        .exclude(phone_normalized__in=OwnNumber.objects.values("phone_normalized"))
        .exclude(dnc_blocked(OuterRef("phone_normalized"), now=now))
    )
    return list(
        calls.values("phone_normalized")
        .annotate(
            calls=Count("id"),
            last_call_at=Max("started_at"),
            missed=Count("id", filter=Q(direction="missed")),
            users=ArrayAgg("user__email", distinct=True, order_by="user__email"),
            phone=Max("phone"),
        )
        .order_by("-last_call_at")[:limit]
    )
