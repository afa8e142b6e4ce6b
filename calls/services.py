"""Call-log writes: idempotent batch ingest and linking calls to contacts by number."""

import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from calls.models import CallLog
from calls.validation import CallInput
from contacts.models import Contact
from contacts.phones import phone_normalize_or_blank
from crm.bulk import copy_rows
from syncaudit.activity import activity_record
from syncaudit.versioning import CALLS, version_next


@dataclass
class IngestResult:
    created: int
    duplicates: int
    results: list[dict]  # {"index", "id", "status"}


def _key(call: CallInput, normalized: str) -> tuple:
    """A call's identity within one user's calls (see call_logs_ingest)."""
    if call.client_call_id:
        return ("c", call.device_id, call.client_call_id)
    return ("n", normalized, call.started_at, call.direction)


@transaction.atomic
def call_logs_ingest(*, user, calls: list[CallInput], indexes: list[int] | None = None):
    """Store validated calls for ``user``; sending the same call again never adds a row.

    A call's identity is (user, device_id, client_call_id) when the phone sends a call id,
    otherwise (user, phone_normalized, started_at, direction). Both are unique constraints in
    the database and rows are written with INSERT ... ON CONFLICT DO NOTHING, so a retried or
    overlapping batch never adds a row twice. On PostgreSQL the batch is COPYed into a staging
    table and inserted from there in one statement that also links each call to the live
    contact holding its number and returns the ids it inserted; only the ids of calls that
    already existed are then read back (no query when all are new). Elsewhere (SQLite) it goes
    through the ORM: a contact lookup, one INSERT per 1,000, every key read back. The read-back
    is at most two queries whatever the batch size.
    """
    indexes = indexes if indexes is not None else list(range(len(calls)))
    normalized = [phone_normalize_or_blank(c.phone) for c in calls]
    keys = [_key(c, n) for c, n in zip(calls, normalized, strict=True)]
    rows: dict[tuple, tuple[uuid.UUID, CallInput, str]] = {}
    for call, number, key in zip(calls, normalized, keys, strict=True):
        if key not in rows:  # else the same call twice in one batch
            rows[key] = (uuid.uuid4(), call, number)

    # From here on call writers are serialised (syncaudit/versioning.py); the lock also orders
    # us against contact creation so a new call and a new contact always end up linked.
    version = version_next(CALLS)
    now = timezone.now()
    if connection.vendor == "postgresql":
        inserted = _insert_staged(user.pk, list(rows.values()), now, version)
    else:
        inserted = _insert_orm(user.pk, list(rows.values()), now, version)

    if inserted is None:  # the ORM path cannot tell: read every key back
        stored: dict[tuple, object] = {}
        missing = list(rows)
    else:
        stored = {k: row[0] for k, row in rows.items() if row[0] in inserted}
        missing = [k for k in rows if k not in stored]
    client_ids = {k[2] for k in missing if k[0] == "c"}
    if client_ids:
        for pk, device_id, client_call_id in CallLog.objects.filter(
            user_id=user.pk, client_call_id__in=client_ids
        ).values_list("id", "device_id", "client_call_id"):
            stored[("c", device_id, client_call_id)] = pk
    natural_times = {k[2] for k in missing if k[0] == "n"}
    if natural_times:
        for pk, number, started_at, direction in CallLog.objects.filter(
            user_id=user.pk, client_call_id="", started_at__in=natural_times
        ).values_list("id", "phone_normalized", "started_at", "direction"):
            stored[("n", number, started_at, direction)] = pk

    results, created, seen = [], 0, set()
    for index, key in zip(indexes, keys, strict=True):
        pk = stored[key]
        is_new = pk == rows[key][0] and key not in seen
        seen.add(key)
        created += is_new
        results.append(
            {"index": index, "id": str(pk), "status": "created" if is_new else "duplicate"}
        )
    if created:
        activity_record(
            actor=user,
            action="calls.batch.ingested",
            changes={"created": created, "duplicates": len(calls) - created},
        )
    return IngestResult(created=created, duplicates=len(calls) - created, results=results)


_STAGE = "pg_temp.calls_upload_stage_v1"  # a new name whenever its columns change
_STAGE_COLUMNS = (
    "id",
    "phone",
    "phone_normalized",
    "direction",
    "started_at",
    "duration_seconds",
    "device_id",
    "client_call_id",
)
# One per database session, created on first use and emptied at every commit (and by the
# INSERT below, which takes its rows with DELETE ... RETURNING, so that two batches in one
# transaction never see each other's rows). Temporary tables are private to the session; a
# pooler that resets sessions (DISCARD ALL) only makes the next batch create it again.
_STAGE_CREATE = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} (
    id uuid NOT NULL,
    phone text NOT NULL,
    phone_normalized text NOT NULL,
    direction text NOT NULL,
    started_at timestamptz NOT NULL,
    duration_seconds integer NOT NULL,
    device_id text NOT NULL,
    client_call_id text NOT NULL
) ON COMMIT DELETE ROWS
"""
# The subquery finds at most one contact: a number belongs to one live contact at a time
# (contacts' partial unique constraint), and that constraint's index serves the lookup. A
# subquery per row rather than a join: the staging table has no statistics, and a hash join
# would read the whole contacts table for every batch.
_STAGE_INSERT = f"""
WITH staged AS (DELETE FROM {_STAGE} RETURNING *)
INSERT INTO calls_calllog (
    id, user_id, contact_id, phone, phone_normalized, direction, started_at,
    duration_seconds, device_id, client_call_id, created_at, version
)
SELECT s.id, %s, (
        SELECT c.id FROM contacts_contact c
        WHERE c.phone_normalized = s.phone_normalized
            AND c.deleted_at IS NULL
            AND s.phone_normalized <> ''
        LIMIT 1
    ),
    s.phone, s.phone_normalized, s.direction, s.started_at, s.duration_seconds, s.device_id,
    s.client_call_id, %s, %s
FROM staged s
ON CONFLICT DO NOTHING
RETURNING calls_calllog.id
"""  # noqa: S608 - no user input in the SQL text


def _insert_staged(user_id, rows: list[tuple], now, version: int) -> set:
    """PostgreSQL: COPY into the staging table, one INSERT ... SELECT; the ids inserted."""
    with connection.cursor() as cursor:
        cursor.execute(_STAGE_CREATE)
        copy_rows(
            _STAGE,
            _STAGE_COLUMNS,
            (
                (
                    pk,
                    call.phone,
                    number,
                    call.direction,
                    call.started_at,
                    call.duration_seconds,
                    call.device_id,
                    call.client_call_id,
                )
                for pk, call, number in rows
            ),
        )
        cursor.execute(_STAGE_INSERT, [user_id, now, version])
        return {pk for (pk,) in cursor.fetchall()}


def _insert_orm(user_id, rows: list[tuple], now, version: int) -> None:
    """Any other database (SQLite in development): bulk_create with the contacts looked up
    first. Which rows were new is not known here (the caller reads every key back)."""
    numbers = {number for _, _, number in rows if number}
    contact_for = dict(
        Contact.live.filter(phone_normalized__in=numbers).values_list("phone_normalized", "id")
    )
    objs = [
        CallLog(
            id=pk,
            user_id=user_id,
            contact_id=contact_for.get(number),
            phone=call.phone,
            phone_normalized=number,
            direction=call.direction,
            started_at=call.started_at,
            duration_seconds=call.duration_seconds,
            device_id=call.device_id,
            client_call_id=call.client_call_id,
            created_at=now,
            version=version,
        )
        for pk, call, number in rows
    ]
    CallLog.objects.bulk_create(objs, batch_size=1000, ignore_conflicts=True)
    return None


def calls_link_to_contacts(*, phones: list[str]) -> int:
    """Link the unlinked calls of these numbers to the live contact holding each number.

    Called in the transaction that creates the contacts. Taking the calls version first waits
    for any upload in flight, so a call and a contact created at the same moment still meet.
    """
    if not phones:
        return 0
    version = version_next(CALLS)
    holder = Contact.live.filter(phone_normalized=OuterRef("phone_normalized")).values("id")[:1]
    return CallLog.objects.filter(contact__isnull=True, phone_normalized__in=phones).update(
        contact=Subquery(holder), version=version
    )


def calls_relink_contact(*, contact: Contact) -> None:
    """A contact's number changed: its calls of the old number let go, the new number's
    unlinked calls join it."""
    version = version_next(CALLS)
    CallLog.objects.filter(contact=contact).exclude(
        phone_normalized=contact.phone_normalized
    ).update(contact=None, version=version)
    CallLog.objects.filter(contact__isnull=True, phone_normalized=contact.phone_normalized).update(
        contact=contact, version=version
    )
