"""POST /sync: apply a phone's pushes, then answer its pull, and audit the round trip."""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from calls.services import call_logs_ingest
from calls.validation import call_validate
from contacts import services as contact_services
from contacts.models import Contact
from contacts.permissions import contact_can_edit
from contacts.selectors import contact_to_dict
from crm.errors import ApiError
from syncaudit.cursors import Cursor
from syncaudit.models import ChangeFeed, Device, SyncOutcome, SyncRecord
from syncaudit.selectors import FEED_LIMIT_DEFAULT, feed_cursor_check, feed_read
from syncaudit.versioning import CALLS, CONTACTS, feed_ensure

ERROR = "error"
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


def _parse_created_at(value) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError("Must be an ISO 8601 timestamp string.")
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError("Not an ISO 8601 timestamp (e.g. 2024-05-01T10:00:00Z).")
    return parsed


def _item_error(index: int, item, errors: dict) -> dict:
    result = {"index": index, "result": ERROR, "errors": errors}
    if isinstance(item, dict) and isinstance(item.get("client_id"), str | int):
        result["client_id"] = item["client_id"]
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        result["id"] = item["id"]
    return result


def _push_contact(*, user, index: int, item) -> tuple[dict, Contact | None]:
    """Apply one pushed contact item in its own transaction. Returns (result, conflict row)."""
    if not isinstance(item, dict):
        return _item_error(index, item, {"non_field_errors": ["Must be a JSON object."]}), None
    try:
        if "id" not in item:
            if not user.can_write:
                raise ApiError(
                    code="permission_denied",
                    message="Viewers cannot add contacts.",
                    status_code=403,
                )
            created_at = _parse_created_at(item.get("created_at"))
            outcome = contact_services.contact_create(
                actor=user,
                item=contact_services.ContactInput(
                    name=item.get("name"), phone=item.get("phone"), created_at=created_at
                ),
            )
        else:
            base_version = item.get("base_version")
            if isinstance(base_version, bool) or not isinstance(base_version, int):
                return _item_error(index, item, {"base_version": ["An integer is required."]}), None
            contact = (
                Contact.objects.select_related("created_by").filter(pk=_uuid(item["id"])).first()
            )
            if contact is None:
                return _item_error(index, item, {"id": ["No such contact."]}), None
            if not contact_can_edit(user, contact):
                return _item_error(
                    index, item, {"id": ["Only the creator, managers and admins may change it."]}
                ), None
            if contact.deleted_at is not None and not item.get("deleted"):
                return {"index": index, "id": str(contact.pk), "result": "conflict"}, contact
            if item.get("deleted") is True:
                outcome = contact_services.contact_delete(
                    actor=user, contact=contact, base_version=base_version
                )
            else:
                outcome = contact_services.contact_update(
                    actor=user,
                    contact=contact,
                    name=item.get("name"),
                    phone=item.get("phone"),
                    base_version=base_version,
                )
    except contact_services.VersionConflict as exc:
        return {"index": index, "id": str(exc.current.pk), "result": "conflict"}, exc.current
    except contact_services.DuplicatePhone as exc:
        return _item_error(
            index, item, {"phone": [str(exc.detail)], "contact": [str(exc.existing.pk)]}
        ), None
    except contact_services.ContactInvalid as exc:
        return _item_error(index, item, exc.errors), None
    except ValueError as exc:
        return _item_error(index, item, {"created_at": [str(exc)]}), None
    except ApiError as exc:
        return _item_error(index, item, {"non_field_errors": [str(exc.detail)]}), None
    result = {"index": index, "id": str(outcome.contact.pk), "result": outcome.result}
    if "client_id" in item:
        result["client_id"] = item["client_id"]
    if outcome.contact.deleted_at is None:
        result["contact"] = contact_to_dict(outcome.contact)
    return result, None


def _uuid(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


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

    now = timezone.now()
    valid_calls, valid_indexes, call_errors = [], [], {}
    for index, item in enumerate(request.calls):
        call, errors = call_validate(item, user=user, now=now)
        if errors:
            call_errors[str(index)] = errors
        else:
            valid_calls.append(call)
            valid_indexes.append(index)
    calls_created = calls_duplicate = 0
    if valid_calls:
        ingest = call_logs_ingest(user=user, calls=valid_calls, indexes=valid_indexes)
        calls_created, calls_duplicate = ingest.created, ingest.duplicates
    record.calls_created, record.calls_duplicate = calls_created, calls_duplicate
    record.calls_error = len(call_errors)

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
        "calls": {"created": calls_created, "duplicates": calls_duplicate, "errors": call_errors},
        "audit_id": str(record.pk),
    }


def sync_run(
    *,
    user,
    request: SyncRequest | None,
    raw_cursor: str,
    client_address: str | None,
    parse_error: ApiError | None = None,
) -> dict:
    """Run one POST /sync and write its audit row, also when it fails."""
    started = time.monotonic()
    record = SyncRecord(
        user=user,
        started_at=timezone.now(),
        client_address=client_address,
        cursor_before=(raw_cursor or "")[:2000],
    )
    if request is not None:
        record.device_ref = request.device_id[:128]
        record.app_version = request.app_version[:32]
        record.contacts_pushed = len(request.contacts)
        record.calls_pushed = len(request.calls)
    try:
        if parse_error is not None:
            raise parse_error
        return sync_apply(user=user, request=request, record=record)
    except ApiError as exc:
        record.outcome = (
            SyncOutcome.CURSOR
            if exc.error_code in ("invalid_cursor", "cursor_expired")
            else SyncOutcome.INVALID
        )
        record.error_code = str(exc.error_code)
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
    """Bump the epoch of every feed: every cursor issued so far is refused (410)."""
    from syncaudit.activity import activity_record

    for name in (CONTACTS, CALLS):
        feed_ensure(name)
    feeds = list(ChangeFeed.objects.select_for_update().order_by("name"))
    for feed in feeds:
        feed.epoch += 1
        feed.save(update_fields=["epoch"])
    activity_record(
        actor=actor,
        action="sync.cursors.reset",
        changes={"epoch": feeds[0].epoch if feeds else None},
    )
    return feeds[0].epoch if feeds else 0


@transaction.atomic
def sync_purge_tombstones(*, actor=None, days: int | None = None) -> int:
    """Remove contact tombstones deleted before the horizon and record how far we purged,
    so that delta cursors older than that are refused with 410 instead of missing deletes.
    Their calls stay; only the link to the purged row is cleared."""
    from calls.models import CallLog
    from syncaudit.activity import activity_record
    from syncaudit.versioning import version_next

    days = settings.SYNC_TOMBSTONE_HORIZON_DAYS if days is None else days
    horizon = timezone.now() - timezone.timedelta(days=days)
    feed_ensure(CONTACTS)
    feed = ChangeFeed.objects.select_for_update().get(name=CONTACTS)
    doomed = Contact.objects.filter(deleted_at__lt=horizon)
    top = doomed.aggregate(top=Max("version"))["top"]
    if top is None:
        return 0
    call_version = version_next(CALLS)
    CallLog.objects.filter(contact__in=doomed).update(contact=None, version=call_version)
    count, _ = doomed.delete()
    feed.purged_through = max(feed.purged_through, top)
    feed.purged_at = timezone.now()
    feed.save(update_fields=["purged_through", "purged_at"])
    activity_record(
        actor=actor,
        action="sync.tombstones.purged",
        changes={"count": count, "horizon_days": days, "purged_through": feed.purged_through},
    )
    return count


__all__ = [
    "Cursor",
    "SyncRequest",
    "sync_apply",
    "sync_purge_tombstones",
    "sync_reset_cursors",
    "sync_run",
]
