"""DNC reads: "is this number blocked now (or at that time)", the lists and entries as the API
shows them, and the phones' feed rows."""

import functools
from datetime import datetime

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from crm.db import server_prepared
from crm.timestamps import iso_utc
from dnc.models import DncEntry, DncList


def _served(now: datetime, prefix: str = "") -> Q:
    """Entries that block now: not removed, on a live active list, not past their time."""
    p = prefix
    return (
        Q(**{f"{p}deleted_at__isnull": True, f"{p}list__active": True,
             f"{p}list__deleted_at__isnull": True})
        & (Q(**{f"{p}expires_at__isnull": True}) | Q(**{f"{p}expires_at__gt": now}))
    )  # fmt: skip


def dnc_entries_blocking(number: str, *, now: datetime) -> QuerySet[DncEntry]:
    """The entries that block ``number`` now (one query on the number index)."""
    return DncEntry.objects.filter(_served(now), phone_normalized=number).order_by("created_at")


# _served as SQL, for list pages (contacts' page query asks dnc_blocked_sql for each row): the
# ORM would spend longer building the statement than PostgreSQL answering it. A test holds the
# two equal. ``{number}``: the number's SQL; one parameter, now.
_ENTRY, _LIST = DncEntry._meta.db_table, DncList._meta.db_table
_BLOCKING = (
    f"FROM {_ENTRY} e JOIN {_LIST} l ON l.id = e.list_id WHERE e.phone_normalized = {{number}} "
    "AND e.deleted_at IS NULL AND l.active AND l.deleted_at IS NULL "
    "AND (e.expires_at IS NULL OR e.expires_at > %s)"
)
_BLOCKED_NUMBERS = "SELECT DISTINCT e.phone_normalized " + _BLOCKING.format(number="ANY(%s)")


def dnc_blocked_sql(number: str) -> str:
    """SQL: whether the number ``number`` (an SQL expression) is blocked now, as an EXISTS; it
    takes one parameter, the time meant by now."""
    return f"EXISTS (SELECT 1 {_BLOCKING.format(number=number)})"


def dnc_blocked_numbers(numbers, *, now: datetime) -> set[str]:
    """Those of ``numbers`` that are blocked now: one query for a page of contacts."""
    if not numbers:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(_BLOCKED_NUMBERS, [list(numbers), now])  # ANY(%s) comes first
        return {row[0] for row in cursor.fetchall()}


def dnc_blocked_numbers_orm(numbers, *, now: datetime) -> set[str]:
    """dnc_blocked_numbers through the ORM's _served (what the SQL above must agree with)."""
    return set(
        DncEntry.objects.filter(_served(now), phone_normalized__in=list(numbers))
        .order_by()
        .values_list("phone_normalized", flat=True)
        .distinct()
    )


def dnc_blocked(number_ref: OuterRef | str, *, now: datetime, lists=None) -> Exists:
    """An EXISTS for querysets above: is the outer row's number blocked now (by any active
    list, or by one of ``lists``)?"""
    entries = DncEntry.objects.filter(_served(now), phone_normalized=number_ref)
    if lists is not None:
        entries = entries.filter(list_id__in=list(lists))
    return Exists(entries)


@functools.cache
def _entries_of_numbers_sql() -> str:
    """(number, created_at, expires_at, deleted_at) of the entries of these numbers (one text[]
    parameter) on active lists, deleted ones included (their time spans still count)."""
    quote = connection.ops.quote_name
    entries, lists = quote(DncEntry._meta.db_table), quote(DncList._meta.db_table)
    return (
        "SELECT e.phone_normalized, e.created_at, e.expires_at, e.deleted_at "  # noqa: S608 - names from the models
        f"FROM {entries} e JOIN {lists} l ON l.id = e.list_id "
        "WHERE e.phone_normalized = ANY(%s::text[]) AND l.active AND l.deleted_at IS NULL"
    )


def dnc_blocked_at(calls: list[tuple[str, datetime]]) -> set[tuple[str, datetime]]:
    """Those of (number, time) pairs whose number was on an entry at that time: added by
    then, not removed or expired by then, on a list that is active (lists keep no history
    of being active). One query for a page of calls."""
    numbers = {number for number, _ in calls if number}
    if not numbers:
        return set()
    spans: dict[str, list] = {}
    with server_prepared.cursor() as cursor:  # every page of calls asks: prepared
        cursor.execute(_entries_of_numbers_sql(), [sorted(numbers)])
        rows = cursor.fetchall()
    for number, start, expires, deleted in rows:
        ends = [t for t in (expires, deleted) if t is not None]
        spans.setdefault(number, []).append((start, min(ends) if ends else None))
    return {
        (number, at)
        for number, at in calls
        if any(start <= at and (end is None or at < end) for start, end in spans.get(number, ()))
    }


# --- lists and entries for the API -------------------------------------------------------


def dnc_list_list() -> QuerySet[DncList]:
    return DncList.objects.filter(deleted_at__isnull=True).order_by("name", "id")


def dnc_entry_counts(list_ids, *, now: datetime) -> dict:
    """Entries each list serves now: one grouped query for a page of lists."""
    rows = (
        DncEntry.objects.filter(
            Q(deleted_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now)),
            list_id__in=list_ids,
        )
        .order_by()
        .values("list_id")
        .annotate(n=Count("*"))
    )
    return {row["list_id"]: row["n"] for row in rows}


def dnc_list_to_dict(dnc_list: DncList, entry_count: int) -> dict:
    return {
        "id": str(dnc_list.pk),
        "name": dnc_list.name,
        "type": dnc_list.type,
        "description": dnc_list.description,
        "source": dnc_list.source,
        "active": dnc_list.active,
        "entry_count": entry_count,
        "created_at": iso_utc(dnc_list.created_at),
        "updated_at": iso_utc(dnc_list.updated_at),
    }


def dnc_entry_list() -> QuerySet[DncEntry]:
    """Entries not removed (expired ones too: the history of a number), newest first."""
    return (
        DncEntry.objects.filter(deleted_at__isnull=True, list__deleted_at__isnull=True)
        .select_related("list")
        .order_by("-created_at", "id")
    )


def dnc_entry_to_dict(entry: DncEntry, *, now: datetime) -> dict:
    active = (
        entry.deleted_at is None
        and entry.list.active
        and entry.list.deleted_at is None
        and (entry.expires_at is None or entry.expires_at > now)
    )
    return {
        "id": str(entry.pk),
        "list": str(entry.list_id),
        "phone": entry.phone,
        "phone_normalized": entry.phone_normalized,
        "reason": entry.reason,
        "source": entry.source,
        "notes": entry.notes,
        "expires_at": iso_utc(entry.expires_at),
        "added_by": str(entry.added_by_id) if entry.added_by_id else None,
        "created_at": iso_utc(entry.created_at),
        "active": active,
    }


# --- the phones' feed ------------------------------------------------------------------------


def dnc_feed_served() -> Q:
    """Feed rows that are numbers to block (the others are tombstones): what a full sync
    lists. Expiry here is the sweep's flag (dnc/services.py), so rows and versions agree."""
    return Q(deleted_at__isnull=True, expired=False, list__active=True,
             list__deleted_at__isnull=True)  # fmt: skip


def dnc_feed_rows(queryset: QuerySet[DncEntry]) -> QuerySet:
    return queryset.values(
        "id", "phone_normalized", "list_id", "expires_at", "version", "deleted_at", "expired",
        "list__active", "list__deleted_at",
    )  # fmt: skip


def dnc_feed_row_to_dict(row: dict) -> dict:
    gone = (
        row["deleted_at"] is not None
        or row["expired"]
        or not row["list__active"]
        or row["list__deleted_at"] is not None
    )
    if gone:
        return {"id": str(row["id"]), "deleted": True, "version": row["version"]}
    return {
        "id": str(row["id"]),
        "phone_normalized": row["phone_normalized"],
        "list": str(row["list_id"]),
        "expires_at": iso_utc(row["expires_at"]),
        "version": row["version"],
    }
