"""Call-log writes: idempotent batch ingest and linking calls to contacts by number."""

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from calls.models import CallLog
from calls.validation import CallInput
from contacts.models import Contact
from contacts.phones import phone_normalize_or_blank
from syncaudit.activity import activity_record
from syncaudit.versioning import CALLS, version_next


@dataclass
class IngestResult:
    created: int
    duplicates: int
    results: list[dict]  # {"index", "id", "status"}


def _key(user_id, call: CallInput, normalized: str) -> tuple:
    if call.client_call_id:
        return ("c", call.device_id, call.client_call_id)
    return ("n", normalized, call.started_at, call.direction)


@transaction.atomic
def call_logs_ingest(*, user, calls: list[CallInput], indexes: list[int] | None = None):
    """Store validated calls for ``user``; sending the same call again never adds a row.

    A call's identity is (user, device_id, client_call_id) when the phone sends a call id,
    otherwise (user, phone_normalized, started_at, direction). Both are unique constraints in
    the database; rows are written with one INSERT ... ON CONFLICT DO NOTHING per 1,000 and the
    ids of rows that already existed are read back in two queries, whatever the batch size.
    """
    indexes = indexes if indexes is not None else list(range(len(calls)))
    normalized = [phone_normalize_or_blank(c.phone) for c in calls]
    keys = [_key(user.pk, c, n) for c, n in zip(calls, normalized, strict=True)]

    # From here on call writers are serialised (syncaudit/versioning.py); the lock also orders
    # us against contact creation so a new call and a new contact always end up linked.
    version = version_next(CALLS)
    numbers = {n for n in normalized if n}
    contact_for = dict(
        Contact.live.filter(phone_normalized__in=numbers).values_list("phone_normalized", "id")
    )
    now = timezone.now()
    rows: dict[tuple, CallLog] = {}
    for call, number, key in zip(calls, normalized, keys, strict=True):
        if key in rows:
            continue  # the same call twice in one batch
        rows[key] = CallLog(
            id=uuid.uuid4(),
            user_id=user.pk,
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
    CallLog.objects.bulk_create(rows.values(), batch_size=1000, ignore_conflicts=True)

    stored: dict[tuple, object] = {}
    client_ids = {k[2] for k in rows if k[0] == "c"}
    if client_ids:
        for pk, device_id, client_call_id in CallLog.objects.filter(
            user_id=user.pk, client_call_id__in=client_ids
        ).values_list("id", "device_id", "client_call_id"):
            stored[("c", device_id, client_call_id)] = pk
    natural_times = {k[2] for k in rows if k[0] == "n"}
    if natural_times:
        for pk, number, started_at, direction in CallLog.objects.filter(
            user_id=user.pk, client_call_id="", started_at__in=natural_times
        ).values_list("id", "phone_normalized", "started_at", "direction"):
            stored[("n", number, started_at, direction)] = pk

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
    return IngestResult(created=created, duplicates=len(calls) - created, results=results)


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
