"""DNC writes: lists, entries (one or thousands, idempotent per list and number), removal,
and the expiry sweep. Every change a phone must learn of takes a version of the ``dnc`` feed:
an entry added, removed or expired, and every entry of a list deactivated, activated again
or deleted.

Expiry is a change nobody writes. The choice: ``dnc_expire_due`` versions the entries whose
``expires_at`` has passed (``expired`` set, a new version), so a phone following the feed gets
their tombstones like any other change. It runs at the start of every feed read (one probe of
a partial index when nothing is due) and every minute from the worker's periodic task
(jobs/tasks.py), so also while nobody reads. Computing expiry inside the feed instead would
give a phone that already passed an entry's version no news when it expires. ``/dnc/check``
does not wait for the sweep: it compares ``expires_at`` with the time of the request.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from crm.db.store import Staging
from crm.http.errors import PayloadTooLarge
from crm.phones import phone_normalize_many
from crm.text import text_is_storable
from crm.timestamps import timestamp_aware
from dnc.errors import DncBatchInvalid, DncInvalid
from dnc.models import DncEntry, DncList, DncListType
from ledger.activity import activity_record
from ledger.versioning import DNC, version_next

BATCH_MAX = 5000
LINE_MAX = 200
NOTES_MAX = 2000


def _line(value, name: str, errors: dict, *, max_length: int = LINE_MAX, required=False) -> str:
    if not value and not required and (value is None or value == ""):
        return ""  # the common case of a file's optional columns
    if value is None:
        value = ""
    if not isinstance(value, str) or not text_is_storable(value):
        errors[name] = ["Must be text."]
        return ""
    value = value.strip() if max_length <= LINE_MAX else value
    if required and not value:
        errors[name] = ["This field is required."]
    elif len(value) > max_length:
        errors[name] = [f"At most {max_length} characters."]
    return value


# --- lists -----------------------------------------------------------------------------------


def _list_clean(data: dict) -> dict:
    errors, clean = {}, {}
    if "name" in data:
        clean["name"] = _line(data["name"], "name", errors, required=True)
    if "type" in data:
        if data["type"] not in DncListType.values:
            errors["type"] = [f"One of: {', '.join(DncListType.values)}."]
        clean["type"] = data["type"]
    for name in ("description", "source"):
        if name in data:
            limit = NOTES_MAX if name == "description" else LINE_MAX
            clean[name] = _line(data[name], name, errors, max_length=limit)
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = ["Must be true or false."]
        clean["active"] = data["active"]
    if errors:
        raise DncInvalid(errors)
    return clean


@transaction.atomic
def dnc_list_create(*, actor, **data) -> DncList:
    clean = _list_clean({"active": True, **data})
    if "name" not in clean or "type" not in clean:
        raise DncInvalid(
            {k: ["This field is required."] for k in ("name", "type") if k not in clean}
        )
    dnc_list = DncList.objects.create(**clean)
    activity_record(actor=actor, action="dnc.list.created", obj=dnc_list,
                    changes={"name": [None, dnc_list.name]})  # fmt: skip
    return dnc_list


_RESTAMP_LIST = f"""
UPDATE {DncEntry._meta.db_table} SET version = %s
WHERE list_id = %s AND deleted_at IS NULL AND NOT expired
"""  # noqa: S608 - the model's table name


def _entries_restamp(dnc_list: DncList) -> int:
    """Every entry the list serves changes for the phones (it appears, or goes): one UPDATE,
    one new version."""
    version = version_next(DNC)
    with connection.cursor() as cursor:
        cursor.execute(_RESTAMP_LIST, [version, dnc_list.pk])
        return cursor.rowcount


@transaction.atomic
def dnc_list_update(*, actor, dnc_list: DncList, **data) -> DncList:
    clean = _list_clean(data)
    current = DncList.objects.select_for_update().get(pk=dnc_list.pk, deleted_at__isnull=True)
    changes = {k: [getattr(current, k), v] for k, v in clean.items() if getattr(current, k) != v}
    if not changes:
        return current
    for key, value in clean.items():
        setattr(current, key, value)
    current.updated_at = timezone.now()
    current.save()
    if "active" in changes:
        changes["entries"] = _entries_restamp(current)
    activity_record(actor=actor, action="dnc.list.updated", obj=current, changes=changes)
    return current


@transaction.atomic
def dnc_list_delete(*, actor, dnc_list: DncList) -> None:
    """The list goes (its entries stay stored, never served again)."""
    current = DncList.objects.select_for_update().filter(pk=dnc_list.pk).first()
    if current is None or current.deleted_at is not None:
        return
    was_active = current.active
    current.active, current.deleted_at = False, timezone.now()
    current.updated_at = current.deleted_at
    current.save()
    entries = _entries_restamp(current) if was_active else 0
    activity_record(actor=actor, action="dnc.list.deleted", obj=current,
                    changes={"name": [current.name, None], "entries": entries})  # fmt: skip


# --- entries ---------------------------------------------------------------------------------


@dataclass
class DncEntryInput:
    list: object  # a DncList's id (or the DncList)
    phone: str
    reason: str | None = None
    source: str | None = None
    notes: str | None = None
    expires_at: datetime | None = None


@dataclass(slots=True)
class _Row:
    list_id: uuid.UUID
    phone: str
    phone_normalized: str
    reason: str
    source: str
    notes: str
    expires_at: datetime | None


_STAGE = Staging(DncEntry, [f.name for f in fields(_Row)])
# A number whose entry on that list has expired is added again as a new entry: the expired one
# becomes a tombstone first (the unique rule is per list and live number).
_RETIRE_EXPIRED = (
    f"UPDATE {DncEntry._meta.db_table} e SET deleted_at = %s, version = %s "  # noqa: S608
    f"FROM {_STAGE.table} s WHERE e.list_id = s.list_id "
    "AND e.phone_normalized = s.phone_normalized AND e.deleted_at IS NULL "
    "AND (e.expired OR e.expires_at <= %s)"
)
_INSERT = _STAGE.insert_new_sql(
    computed={
        "id": "gen_random_uuid()",
        "version": "%s",
        "added_by_id": "%s",
        "created_at": "%s",
        "expired": "false",
    }
)


def _entry_clean(
    item: DncEntryInput, lists: dict, now, normalized: tuple[str, str]
) -> tuple[_Row | None, dict]:
    """``normalized``: the phone's (E.164, "") or ("", reason), from phone_normalize_many."""
    errors: dict[str, list[str]] = {}
    list_id = getattr(item.list, "pk", item.list)
    if not isinstance(list_id, uuid.UUID):
        try:
            list_id = uuid.UUID(str(list_id))
        except ValueError:
            list_id = None
    if list_id not in lists:
        errors["list"] = ["No such do-not-call list."]
    number, reason = normalized
    if not isinstance(item.phone, str):
        number, reason = "", "A phone number is required."
    if reason:
        errors["phone"] = [reason]
    reason = _line(item.reason, "reason", errors)
    source = _line(item.source, "source", errors)
    notes = _line(item.notes, "notes", errors, max_length=NOTES_MAX)
    expires_at = item.expires_at
    if expires_at is not None:
        try:
            expires_at = timestamp_aware(expires_at)
            if expires_at <= now:
                errors["expires_at"] = ["This time is in the past."]
        except ValueError as exc:
            errors["expires_at"] = [str(exc)]
    if errors:
        return None, errors
    phone = item.phone.strip()
    return _Row(list_id, phone, number, reason, source, notes, expires_at), {}


def _live_lists(items: list[DncEntryInput]) -> set:
    ids = {getattr(i.list, "pk", i.list) for i in items}
    return set(
        DncList.objects.filter(
            pk__in=[x for x in ids if _uuid(x)], deleted_at__isnull=True
        ).values_list("pk", flat=True)
    )


def _entries_clean(items: list[DncEntryInput]) -> tuple[list[_Row | None], dict]:
    """Each item checked: its row (None if invalid) and the errors, by index."""
    now = timezone.now()
    lists = _live_lists(items)
    numbers = phone_normalize_many(i.phone if isinstance(i.phone, str) else "" for i in items)
    rows, errors = [], {}
    for index, (item, normalized) in enumerate(zip(items, numbers, strict=True)):
        row, item_errors = _entry_clean(item, lists, now, normalized)
        if item_errors:
            errors[index] = item_errors
        rows.append(row)
    return rows, errors


def dnc_entries_validate(items: list[DncEntryInput]) -> dict[int, dict[str, list[str]]]:
    """dnc_entries_add's checks and nothing else, by index (an import checks a whole file
    with it before adding any of it): an empty answer means dnc_entries_add accepts them."""
    return _entries_clean(items)[1]


def _entries_insert(rows: list[_Row], *, actor, version: int, now) -> set:
    """Stage the rows and insert the new ones (one per list and number); their ids."""
    unique = list({(r.list_id, r.phone_normalized): r for r in reversed(rows)}.values())
    _STAGE.load(unique)
    with connection.cursor() as cursor:
        cursor.execute(_RETIRE_EXPIRED, [now, version, now])
        cursor.execute(_INSERT, [version, getattr(actor, "pk", None), now])
        return {row[0] for row in cursor.fetchall()}


@dataclass
class DncLoaded:
    version: int  # every entry the batch created has it (until something changes the entry)
    created: int
    existing: int


@transaction.atomic
def dnc_entries_load(*, actor, items: list[DncEntryInput]) -> DncLoaded:
    """dnc_entries_add for files (an import job's batches, of any size): the same checks and
    rules, all or nothing (DncBatchInvalid), without an answer per item; the caller records
    the activity of the whole file."""
    rows, errors = _entries_clean(items)
    if errors:
        raise DncBatchInvalid(errors)
    version = version_next(DNC)
    created = _entries_insert(rows, actor=actor, version=version, now=timezone.now())
    return DncLoaded(version=version, created=len(created), existing=len(rows) - len(created))


@transaction.atomic
def dnc_entries_add(*, actor, items: list[DncEntryInput]) -> list[tuple[DncEntry, bool]]:
    """Add entries, idempotently per list and E.164 number: a number the list holds already
    is that entry, unchanged. All or nothing: any invalid item raises DncBatchInvalid.
    Returns, per input in order, ``(entry, created)``."""
    if len(items) > BATCH_MAX:
        raise PayloadTooLarge(
            f"At most {BATCH_MAX} entries in one request; import larger files.",
            details={"limit": BATCH_MAX, "size": len(items)},
        )
    rows, errors = _entries_clean(items)
    if errors:
        raise DncBatchInvalid(errors)
    version = version_next(DNC)
    created = _entries_insert(rows, actor=actor, version=version, now=timezone.now())
    keys = {(r.list_id, r.phone_normalized) for r in rows}
    held = {
        (e.list_id, e.phone_normalized): e
        for e in DncEntry.objects.filter(
            deleted_at__isnull=True,
            phone_normalized__in={n for _, n in keys},
            list_id__in={x for x, _ in keys},
        )
    }
    counts = {"created": len(created), "existing": len(keys) - len(created)}
    activity_record(actor=actor, action="dnc.entries.added", changes=counts)
    answer, seen = [], set()
    for row in rows:
        entry = held[(row.list_id, row.phone_normalized)]
        answer.append((entry, entry.pk in created and entry.pk not in seen))
        seen.add(entry.pk)
    return answer


def _uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@transaction.atomic
def dnc_entry_delete(*, actor, entry: DncEntry) -> None:
    """A tombstone for the phones; deleting twice is a no-op."""
    current = DncEntry.objects.select_for_update().get(pk=entry.pk)
    if current.deleted_at is not None:
        return
    current.version = version_next(DNC)
    current.deleted_at = timezone.now()
    current.save(update_fields=["version", "deleted_at"])
    activity_record(actor=actor, action="dnc.entry.deleted", obj=current,
                    changes={"phone": [current.phone_normalized, None]})  # fmt: skip


_UNLOAD = (
    f"UPDATE {DncEntry._meta.db_table} SET deleted_at = %s, version = %s "  # noqa: S608
    "WHERE list_id = %s AND version = ANY(%s) AND deleted_at IS NULL"
)


@transaction.atomic
def dnc_entries_unload(*, actor, list_id, versions: Sequence[int], source: str) -> int:
    """Tombstone the entries that dnc_entries_load calls of ``versions`` created on the list
    and that nothing changed since (an import's undo): a live entry still at one of those
    versions is one of them (a batch's version is its own; an entry removed, expired or
    restamped since has another). How many were removed."""
    version = version_next(DNC)
    with connection.cursor() as cursor:
        cursor.execute(_UNLOAD, [timezone.now(), version, list_id, list(versions)])
        removed = cursor.rowcount
    activity_record(actor=actor, action="dnc.entries.removed",
                    changes={"source": source, "removed": removed})  # fmt: skip
    return removed


def dnc_entries_load_record(*, actor, list_id, source: str, counts: dict) -> None:
    """One activity row for a whole file loaded by dnc_entries_load."""
    activity_record(actor=actor, action="dnc.entries.imported",
                    changes={"source": source, "list": str(list_id), **counts})  # fmt: skip


_DUE = f"""
UPDATE {DncEntry._meta.db_table} SET expired = true, version = %s
WHERE deleted_at IS NULL AND NOT expired AND expires_at IS NOT NULL AND expires_at <= %s
"""  # noqa: S608 - the model's table name


def dnc_expire_due(*, now: datetime | None = None) -> int:
    """Version the entries whose time has passed (see the module's docstring). Cheap when
    nothing is due: one probe of the expiry index, no version taken."""
    now = now or timezone.now()
    due = DncEntry.objects.filter(
        deleted_at__isnull=True, expired=False, expires_at__isnull=False, expires_at__lte=now
    )
    if not due.exists():
        return 0
    with transaction.atomic():
        version = version_next(DNC)
        with connection.cursor() as cursor:
            cursor.execute(_DUE, [version, now])
            return cursor.rowcount
