"""Call-log writes: the one upload service, idempotent ingest, and linking calls to contacts.

Every upload (POST /calls, the calls of POST /sync, the bench) goes through calls_upload: it
validates the items, applies the batch limit and chooses between all-or-nothing (the REST
upload) and storing the valid items while reporting the others (a phone cannot repair its own
call log, so a sync skips the bad entries).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from calls.errors import CallBatchInvalid, CallBatchTooLarge
from calls.keys import CallKey
from calls.models import CallLog
from calls.validation import CallInput, call_validate
from contacts.models import Contact
from crm.db.store import Staging
from crm.phones import phone_normalize_or_blank
from ledger.activity import activity_record
from ledger.numbers import NumberListener
from ledger.versioning import CALLS, feed_lock, version_next

VIEWERS_CANNOT_UPLOAD = {"non_field_errors": ["Viewers cannot upload calls."]}


@dataclass
class UploadResult:
    created: int
    duplicates: int
    results: list[dict]  # {"index", "id", "status"}, for the stored items
    errors: dict[int, dict]  # index -> field errors, for the skipped items (skip_invalid only)


def calls_upload(*, user, items: Sequence, skip_invalid: bool = False) -> UploadResult:
    """Validate and store an upload of call items (decoded JSON) for ``user``.

    More than CALLS_MAX_BATCH items is CallBatchTooLarge. An invalid item makes the whole
    batch CallBatchInvalid, with nothing stored; with ``skip_invalid`` the valid items are
    stored and the others come back in ``errors`` (a viewer's items are all errors then)."""
    if len(items) > settings.CALLS_MAX_BATCH:
        raise CallBatchTooLarge(len(items), settings.CALLS_MAX_BATCH)
    now = timezone.now()
    valid, indexes, errors = [], [], {}
    for index, item in enumerate(items):
        if not user.can_write:
            errors[index] = VIEWERS_CANNOT_UPLOAD
            continue
        call, item_errors = call_validate(item, user=user, now=now)
        if item_errors:
            errors[index] = item_errors
        else:
            valid.append(call)
            indexes.append(index)
    if errors and not skip_invalid:
        raise CallBatchInvalid(errors)
    if not valid:
        return UploadResult(created=0, duplicates=0, results=[], errors=errors)
    ingest = call_logs_ingest(user=user, calls=valid, indexes=indexes)
    ingest.errors = errors
    return ingest


@dataclass(slots=True)
class _CallRow:
    """One call of a batch as it is staged: the columns that differ from call to call. The
    rest (user, time received, version, contact) is the batch's or the database's."""

    id: uuid.UUID
    phone: str
    phone_normalized: str
    direction: str
    started_at: datetime
    duration_seconds: int
    device_id: str
    client_call_id: str


_STAGE = Staging(CallLog, [f.name for f in fields(_CallRow)])
# The contact holding the call's number, if any: at most one (a number belongs to one live
# contact at a time), found through that unique index. A subquery per row rather than a join:
# the staging table has no statistics, and a hash join would read every contact per batch.
_CONTACT_OF_NUMBER = f"""(
    SELECT c.id FROM {Contact._meta.db_table} c
    WHERE c.phone_normalized = s.phone_normalized AND c.deleted_at IS NULL
        AND s.phone_normalized <> ''
    LIMIT 1
)"""  # noqa: S608 - the model's table name
_INSERT = _STAGE.insert_new_sql(
    computed={
        "user_id": "%s",
        "contact_id": _CONTACT_OF_NUMBER,
        "created_at": "%s",
        "version": "%s",
    }
)


@transaction.atomic
def call_logs_ingest(*, user, calls: list[CallInput], indexes: list[int] | None = None):
    """Store validated calls for ``user``; sending the same call again never adds a row.

    A call's identity is its CallKey (calls/keys.py); both forms are unique constraints in the
    database. The batch is COPYed into a staging table and inserted from there in one
    statement that skips calls already stored (ON CONFLICT DO NOTHING), links each new call to
    the live contact holding its number and returns the ids it inserted. Only the ids of calls
    that already existed are then read back (no query when all are new, at most two else).
    """
    indexes = indexes if indexes is not None else list(range(len(calls)))
    rows: dict[CallKey, _CallRow] = {}
    keys = []
    for call in calls:
        row = _CallRow(
            id=uuid.uuid4(),
            phone=call.phone,
            phone_normalized=phone_normalize_or_blank(call.phone),
            direction=call.direction,
            started_at=call.started_at,
            duration_seconds=call.duration_seconds,
            device_id=call.device_id,
            client_call_id=call.client_call_id,
        )
        key = CallKey.of(row)
        keys.append(key)
        rows.setdefault(key, row)  # else the same call twice in one batch

    # From here on call writers are serialised (ledger/versioning.py); the lock also orders
    # us against contact creation so a new call and a new contact always end up linked.
    version = version_next(CALLS)
    _STAGE.load(rows.values())
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, [user.pk, timezone.now(), version])
        inserted = {pk for (pk,) in cursor.fetchall()}

    stored = {key: row.id for key, row in rows.items() if row.id in inserted}
    stored.update(_stored_ids(user, [key for key in rows if key not in stored]))

    results, created, seen = [], 0, set()
    for index, key in zip(indexes, keys, strict=True):
        pk = stored[key]
        is_new = pk == rows[key].id and key not in seen
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
    return UploadResult(
        created=created, duplicates=len(calls) - created, results=results, errors={}
    )


def _stored_ids(user, keys: list[CallKey]) -> dict[CallKey, uuid.UUID]:
    """The ids of calls already stored under these keys: one query per form of key."""
    mine = CallLog.objects.filter(user_id=user.pk)
    client_ids = {key.client_call_id for key in keys if key.by_client}
    natural_times = {key.started_at for key in keys if not key.by_client}
    found: dict[CallKey, uuid.UUID] = {}
    for rows in (
        mine.filter(client_call_id__in=client_ids) if client_ids else None,
        mine.filter(client_call_id="", started_at__in=natural_times) if natural_times else None,
    ):
        if rows is not None:
            for row in rows.values_list("id", *CallKey.FIELDS, named=True):
                found[CallKey.of(row)] = row.id
    return found


# --- linking calls to contacts ---------------------------------------------------------------


def calls_link_to_contacts(*, phones: Sequence[str]) -> int:
    """Link the unlinked calls of these numbers to the live contact holding each number.

    Called in the transaction that creates the contacts. Locking the calls feed first waits
    for any upload in flight, so a call and a contact created at the same moment still meet;
    a version (and the phones' poke) is taken only when there are calls to link.
    """
    if not phones:
        return 0
    feed_lock(CALLS)
    unlinked = CallLog.objects.filter(contact__isnull=True, phone_normalized__in=phones)
    if not unlinked.exists():
        return 0
    version = version_next(CALLS)
    holder = Contact.live.filter(phone_normalized=OuterRef("phone_normalized")).values("id")[:1]
    return unlinked.update(contact=Subquery(holder), version=version)


def calls_relink_contact(*, contact_id, number: str) -> None:
    """A contact's number changed to ``number``: its calls of other numbers let go, the new
    number's unlinked calls join it."""
    version = version_next(CALLS)
    CallLog.objects.filter(contact_id=contact_id).exclude(phone_normalized=number).update(
        contact=None, version=version
    )
    CallLog.objects.filter(contact__isnull=True, phone_normalized=number).update(
        contact_id=contact_id, version=version
    )


class CallLinker(NumberListener):
    """Contacts announce numbers changing hands (ledger/numbers.py); calls follow them."""

    def numbers_live(self, *, numbers):
        calls_link_to_contacts(phones=numbers)

    def number_moved(self, *, holder_id, old, new):
        calls_relink_contact(contact_id=holder_id, number=new)
