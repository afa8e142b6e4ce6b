"""POST /sync: apply a phone's pushes, then answer its pull, and audit the round trip."""

import logging
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from rest_framework.exceptions import APIException

from accounts.services import sessions_revoke_device
from calls.models import CallLog
from calls.services import calls_upload
from contacts import services as contact_services
from contacts.models import Contact, ContactList
from contacts.permissions import contact_can_edit
from contacts.selectors import contact_to_dict
from crm.http.errors import FieldsInvalid, error_code_for
from crm.text import text_storable
from crm.timestamps import timestamp_parse
from ledger.activity import activity_record
from ledger.models import ChangeFeed, epoch_new
from ledger.notify import DEVICE_REVOKED, notify
from ledger.versioning import CALLS, CONTACTS, FEEDS, LISTS, feed_ensure, version_next
from syncaudit.cursors import Cursor
from syncaudit.errors import SyncErrorCode
from syncaudit.models import (
    ITEM_ERRORS_KEPT,
    Device,
    PushSubscription,
    SyncOutcome,
    SyncRecord,
)
from syncaudit.selectors import FEED_LIMIT_DEFAULT, feed_cursor_check, feed_read

ERROR = "error"
TAG_FIELDS = ("tags", "tags_add", "tags_remove")
logger = logging.getLogger(__name__)


@dataclass
class SyncRequest:
    device_id: str
    platform: str = ""
    app_version: str = ""
    cursor: str | None = None
    contacts: list = field(default_factory=list)
    calls: list = field(default_factory=list)
    limit: int = FEED_LIMIT_DEFAULT


def device_touch(*, user, device_id: str, platform: str, app_version: str) -> Device:
    device, _ = Device.objects.get_or_create(
        user=user, device_id=device_id, defaults={"platform": platform, "app_version": app_version}
    )
    return device


def device_for_login(*, user, device_id: str) -> Device:
    """The phone a login names (registered with accounts.devices at start-up): its row,
    created if it never synced; a new login signs a signed-out phone in again."""
    device, _ = Device.objects.get_or_create(user=user, device_id=device_id)
    if device.revoked_at is not None:
        device.revoked_at = None
        device.save(update_fields=["revoked_at"])
    return device


@transaction.atomic
def device_revoke(*, actor, device: Device) -> Device:
    """Sign a phone out: its refresh tokens stop working, its push endpoint is dropped, and its
    open event stream ends when this commits (a poke every app node hears)."""
    sessions_revoke_device(user_id=device.user_id, device=device.pk)
    device.revoked_at = timezone.now()
    device.save(update_fields=["revoked_at"])
    PushSubscription.objects.filter(device=device).delete()
    notify(DEVICE_REVOKED, device=device.pk)
    activity_record(actor=actor, action="sync.device.revoked", obj=device)
    return device


@transaction.atomic
def device_push_register(*, device: Device, endpoint: str, p256dh: str, auth: str):
    """Store (or replace) the device's Web Push endpoint; pokes start from the feeds' heads
    now, so a new endpoint gets no message for what happened before it."""
    if device.revoked_at is not None:
        raise FieldsInvalid({"device": ["This phone was signed out; sign in on it again."]})
    others = PushSubscription.objects.filter(device__user_id=device.user_id).exclude(device=device)
    if others.count() >= settings.WEBPUSH_MAX_ENDPOINTS_PER_USER:
        limit = settings.WEBPUSH_MAX_ENDPOINTS_PER_USER
        raise FieldsInvalid(
            {"endpoint": [f"At most {limit} phones of one user get Web Push; sign one out."]}
        )
    heads = dict(ChangeFeed.objects.values_list("name", "version"))
    subscription, _ = PushSubscription.objects.update_or_create(
        device=device,
        defaults={
            "endpoint": endpoint, "p256dh": p256dh, "auth": auth, "heads_seen": heads,
            "failures": 0, "retry_at": None, "last_error": "",
        },
    )  # fmt: skip
    return subscription


@transaction.atomic
def device_push_remove(*, device: Device) -> bool:
    deleted, _ = PushSubscription.objects.filter(device=device).delete()
    return bool(deleted)


def _result(index: int, item, result: str, **extra) -> dict:
    """One per-item answer; ``client_id`` is echoed whatever happened to the item."""
    answer = {"index": index, "result": result}
    if isinstance(item, dict) and "client_id" in item:
        answer["client_id"] = item["client_id"]
    answer.update(extra)
    return answer


def _error(index: int, item, errors: dict) -> dict:
    extra = {"errors": errors}
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        extra["id"] = item["id"]
    return _result(index, item, ERROR, **extra)


def _push_new_contact(*, user, item: dict):
    if item.get("deleted"):
        raise contact_services.ContactInvalid({"deleted": ["A delete needs the contact's id."]})
    raw_created_at = item.get("created_at")
    try:
        created_at = None if raw_created_at in (None, "") else timestamp_parse(raw_created_at)
    except ValueError as exc:
        raise contact_services.ContactInvalid({"created_at": [str(exc)]}) from None
    return contact_services.contact_create(
        actor=user,
        item=contact_services.ContactInput(
            name=item.get("name"),
            phone=item.get("phone"),
            created_at=created_at,
            tags=item.get("tags"),
            custom_fields=item.get("custom_fields"),
            **{name: item.get(name) for name in contact_services.DETAILS},
        ),
    )


def _push_change(*, user, item: dict, contact: Contact, base_version: int):
    if item.get("deleted") is True:
        return contact_services.contact_delete(
            actor=user, contact=contact, base_version=base_version
        )
    if contact.deleted_at is not None:
        raise contact_services.ContactGone(contact)
    return contact_services.contact_update(
        actor=user,
        contact=contact,
        name=item.get("name"),
        phone=item.get("phone"),
        base_version=base_version,
        custom_fields=item.get("custom_fields"),
        **{name: item.get(name) for name in (*contact_services.DETAILS, *TAG_FIELDS)},
    )


def _push_contact(*, user, index: int, item) -> tuple[dict, Contact | None]:
    """Apply one pushed contact item in its own transaction. Returns (result, conflict row)."""
    if not isinstance(item, dict):
        return _error(index, item, {"non_field_errors": ["Must be a JSON object."]}), None
    if not user.can_write:
        return _error(index, item, {"non_field_errors": ["Viewers cannot change contacts."]}), None
    try:
        if "id" not in item:
            outcome = _push_new_contact(user=user, item=item)
        else:
            base_version = item.get("base_version")
            if isinstance(base_version, bool) or not isinstance(base_version, int):
                return _error(index, item, {"base_version": ["An integer is required."]}), None
            contact = (
                Contact.objects.select_related("created_by").filter(pk=_uuid(item["id"])).first()
            )
            if contact is None:
                return _error(index, item, {"id": ["No such contact."]}), None
            if not contact_can_edit(user, contact):
                message = "Only the creator, managers and admins may change it."
                return _error(index, item, {"id": [message]}), None
            outcome = _push_change(user=user, item=item, contact=contact, base_version=base_version)
    except contact_services.VersionConflict as exc:
        conflict = {"id": str(exc.current.pk), "conflicting_fields": exc.conflicting_fields}
        return _result(index, item, "conflict", **conflict), exc.current
    except contact_services.ContactGone as exc:  # deleted on the server
        conflict = {"id": str(exc.contact.pk), "conflicting_fields": ["deleted"]}
        return _result(index, item, "conflict", **conflict), exc.contact
    except contact_services.DuplicatePhone as exc:
        errors = {"phone": [str(exc.detail)], "contact": [str(exc.existing.pk)]}
        return _error(index, item, errors), None
    except contact_services.ContactInvalid as exc:
        return _error(index, item, exc.errors), None
    extra = {"id": str(outcome.contact.pk)}
    if outcome.contact.deleted_at is None:
        extra["contact"] = contact_to_dict(outcome.contact)
    return _result(index, item, outcome.result, **extra), None


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _item_error(record: SyncRecord, kind: str, index: int, result: dict) -> None:
    """Keep a refused item's reason on the audit record (the first ITEM_ERRORS_KEPT)."""
    if len(record.item_errors) < ITEM_ERRORS_KEPT:
        entry = {"kind": kind, "index": index, "errors": result.get("errors", {})}
        if result.get("id"):
            entry["id"] = result["id"]
        record.item_errors = [*record.item_errors, entry]


def sync_apply(*, user, request: SyncRequest, record: SyncRecord) -> dict:
    """Pushes first (each contact item atomically, valid calls in one transaction), then the
    pull from the phone's cursor. The audit record is filled in as we go; the caller saves it
    whatever happens."""
    cursor, _state = feed_cursor_check(CONTACTS, request.cursor)

    device = device_touch(
        user=user,
        device_id=request.device_id,
        platform=request.platform,
        app_version=request.app_version,
    )
    record.device = device

    results, conflicts = [], {}
    for index, item in enumerate(request.contacts):
        result, conflict_row = _push_contact(user=user, index=index, item=item)
        results.append(result)
        if conflict_row is not None:
            conflicts[str(conflict_row.pk)] = conflict_row
        field_name = f"contacts_{result['result']}"
        setattr(record, field_name, getattr(record, field_name) + 1)
        if result["result"] == ERROR:
            _item_error(record, "contact", index, result)

    # A phone cannot repair its own call log: bad entries are reported and skipped.
    calls = calls_upload(user=user, items=request.calls, skip_invalid=True)
    record.calls_created, record.calls_duplicate = calls.created, calls.duplicates
    record.calls_error = len(calls.errors)
    call_errors = {str(index): errors for index, errors in calls.errors.items()}
    for index, errors in calls.errors.items():
        _item_error(record, "call", index, {"errors": errors})

    page = feed_read(CONTACTS, cursor, limit=request.limit)
    changes = page.changes
    seen = {c["id"] for c in changes}
    for pk, contact in conflicts.items():
        if pk not in seen:
            # The phone must see the server's row to resolve its conflict.
            changes.append(contact_to_dict(contact))
    record.changes_pulled = len(changes)
    record.cursor_after = page.cursor

    Device.objects.filter(pk=device.pk).update(
        last_sync_at=timezone.now(),
        last_cursor=page.cursor,
        platform=request.platform or device.platform,
        app_version=request.app_version or device.app_version,
    )
    return {
        "contacts": {
            "results": results,
            "changes": changes,
            "cursor": page.cursor,
            "has_more": page.has_more,
        },
        "calls": {"created": calls.created, "duplicates": calls.duplicates, "errors": call_errors},
        "audit_id": str(record.pk),
    }


def sync_run(
    *,
    user,
    request: SyncRequest | None,
    raw_cursor: str,
    client_address: str | None,
    parse_error: APIException | None = None,
) -> dict:
    """Run one POST /sync and write its audit row, also when it fails."""
    started = time.monotonic()
    record = SyncRecord(
        user=user,
        started_at=timezone.now(),
        client_address=client_address,
        cursor_before=text_storable((raw_cursor or "")[:2000]),  # kept even when it holds NUL
    )
    if request is not None:
        record.device_ref = text_storable(request.device_id[:128])
        record.app_version = text_storable(request.app_version[:32])
        record.contacts_pushed = len(request.contacts)
        record.calls_pushed = len(request.calls)
    try:
        if parse_error is not None:
            raise parse_error
        return sync_apply(user=user, request=request, record=record)
    except APIException as exc:
        code = error_code_for(exc)
        cursor_codes = (SyncErrorCode.INVALID_CURSOR, SyncErrorCode.CURSOR_EXPIRED)
        record.outcome = SyncOutcome.CURSOR if code in cursor_codes else SyncOutcome.INVALID
        record.error_code = code
        raise
    except Exception:
        record.outcome = SyncOutcome.ERROR
        record.error_code = "server_error"
        raise
    finally:
        record.duration_ms = int((time.monotonic() - started) * 1000)
        try:
            with transaction.atomic():
                record.save()
        except Exception:  # the database itself may be what failed; the answer says so already
            logger.exception("Could not write the sync audit record")


# --- operator actions ------------------------------------------------------------------------


@transaction.atomic
def sync_reset_cursors(*, actor=None) -> int:
    """Give every feed a new epoch: every cursor issued so far is refused (410). The epoch is
    new, never the old one plus one: a backup restored twice would otherwise end at the same
    epoch both times, and cursors issued in between would be taken as current."""
    for name in FEEDS:
        feed_ensure(name)
    epoch = epoch_new()
    ChangeFeed.objects.select_for_update().update(epoch=epoch)
    activity_record(actor=actor, action="sync.cursors.reset", changes={"epoch": epoch})
    return epoch


@transaction.atomic
def sync_purge_tombstones(*, actor=None, days: int | None = None) -> int:
    """Remove the tombstones (contacts and lists) deleted before the horizon and record how far
    each feed was purged, so that delta cursors older than that are refused with 410 instead
    of missing deletes. Calls of purged contacts stay; only their link is cleared."""
    days = settings.SYNC_TOMBSTONE_HORIZON_DAYS if days is None else days
    horizon = timezone.now() - timezone.timedelta(days=days)
    doomed_contacts = Contact.objects.filter(deleted_at__lt=horizon)
    if doomed_contacts.exists():
        call_version = version_next(CALLS)
        CallLog.objects.filter(contact__in=doomed_contacts).update(
            contact=None, version=call_version
        )
    count = _purge(CONTACTS, doomed_contacts)
    count += _purge(LISTS, ContactList.objects.filter(deleted_at__lt=horizon))
    activity_record(
        actor=actor,
        action="sync.tombstones.purged",
        changes={"count": count, "horizon_days": days},
    )
    return count


def _purge(feed_name: str, doomed) -> int:
    feed_ensure(feed_name)
    feed = ChangeFeed.objects.select_for_update().get(name=feed_name)
    top = doomed.aggregate(top=Max("version"))["top"]
    if top is None:
        return 0
    count, _ = doomed.delete()
    feed.purged_through = max(feed.purged_through, top)
    feed.purged_at = timezone.now()
    feed.save(update_fields=["purged_through", "purged_at"])
    return count


__all__ = [
    "Cursor",
    "SyncRequest",
    "sync_apply",
    "sync_purge_tombstones",
    "sync_reset_cursors",
    "sync_run",
]
