"""Reading the change feeds, and the audit lists."""

import re
import uuid
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from calls.models import CallLog
from calls.selectors import call_row_to_dict, call_rows
from contacts.models import Contact, ContactList
from contacts.selectors import contact_row_to_dict, contact_rows, list_row_to_dict, list_rows
from dnc.models import DncEntry
from dnc.selectors import dnc_feed_row_to_dict, dnc_feed_rows, dnc_feed_served
from ledger.models import ChangeFeed
from ledger.selectors import feed_state
from ledger.versioning import CALLS, CONTACTS, DNC, LISTS
from syncaudit.cursors import Cursor, cursor_decode
from syncaudit.errors import CursorExpired, InvalidCursor
from syncaudit.models import Device, SyncRecord

FEED_LIMIT_DEFAULT = 500
FEED_LIMIT_MAX = 5000

_LIVE = Q(deleted_at__isnull=True)
# feed -> (model, rows of a queryset, a row as the feed shows it, the rows a full sync lists;
# None: every row, as calls are never deleted)
_FEEDS = {
    CONTACTS: (Contact, contact_rows, contact_row_to_dict, _LIVE),
    CALLS: (CallLog, call_rows, call_row_to_dict, None),
    LISTS: (ContactList, list_rows, list_row_to_dict, _LIVE),
    DNC: (DncEntry, dnc_feed_rows, dnc_feed_row_to_dict, dnc_feed_served()),
}


@dataclass
class FeedPage:
    changes: list[dict]
    cursor: str
    has_more: bool


def feed_cursor_check(feed: str, raw: str | None) -> tuple[Cursor, ChangeFeed]:
    """Decode a client's cursor (or start a full sync) and refuse stale ones."""
    state = feed_state(feed)
    if not raw:
        return Cursor(feed=feed, epoch=state.epoch, version=0, high_water=state.version), state
    cursor = cursor_decode(raw, feed=feed)
    if cursor.epoch != state.epoch:
        raise CursorExpired("Cursors were reset on the server; do a full sync without a cursor.")
    if cursor.version > state.version:
        # The server's data is older than the cursor (a restore, a reinstall): what the phone
        # holds cannot be trusted to match, exactly as after a reset.
        raise CursorExpired("This cursor is ahead of the server; do a full sync without a cursor.")
    if state.purged_through > max(cursor.version, cursor.high_water):
        raise CursorExpired(
            "This cursor is older than the tombstone horizon; do a full sync without a cursor."
        )
    if cursor.last_id is not None:
        try:
            uuid.UUID(cursor.last_id)
        except ValueError:
            raise InvalidCursor() from None
    return cursor, state


def feed_rows(
    feed: str, cursor: Cursor, *, limit: int = FEED_LIMIT_DEFAULT, rows_of=None
) -> tuple[list[dict], Cursor, bool]:
    """The rows after ``cursor`` in (version, id) order, the cursor after them and whether
    more follow. One query, whatever the table size: the (version, id) index is range-scanned
    from the cursor. ``rows_of`` (a queryset -> rows with at least id and version) replaces
    the feed's own columns: CardDAV's sync-collection reads ids and versions only."""
    model, feed_rows_of, _, served = _FEEDS[feed]
    after = Q(version__gt=cursor.version)
    if cursor.last_id:
        after |= Q(version=cursor.version, id__gt=cursor.last_id)
    queryset = model.objects.filter(Q(version__gte=cursor.version) & after)
    if cursor.high_water and served is not None:
        # Full sync: records deleted before it began are not news to this phone.
        queryset = queryset.filter(served | Q(version__gt=cursor.high_water))
    rows = list((rows_of or feed_rows_of)(queryset.order_by("version", "id"))[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        position = cursor if not cursor.high_water else _settled(cursor, cursor.version)
        return rows, position, False
    last = rows[-1]
    if has_more:
        position = Cursor(feed, cursor.epoch, last["version"], str(last["id"]), cursor.high_water)
    else:
        position = _settled(cursor, last["version"])
    return rows, position, has_more


def feed_read(feed: str, cursor: Cursor, *, limit: int = FEED_LIMIT_DEFAULT) -> FeedPage:
    """Changes after ``cursor`` as the feed shows them (feed_rows)."""
    to_dict = _FEEDS[feed][2]
    rows, position, has_more = feed_rows(feed, cursor, limit=limit)
    return FeedPage(changes=[to_dict(r) for r in rows], cursor=position.encode(), has_more=has_more)


def _settled(cursor: Cursor, version: int) -> Cursor:
    """The last page was read: everything up to max(version, high-water) is now known."""
    return Cursor(cursor.feed, cursor.epoch, max(version, cursor.high_water))


def device_signed_in(*, device_id, user) -> bool:
    """The user's phone exists and has not been signed out."""
    return Device.objects.filter(pk=device_id, user=user, revoked_at__isnull=True).exists()


def device_list(*, viewer) -> QuerySet[Device]:
    """Managers and admins see every phone; everyone else their own."""
    queryset = Device.objects.select_related("user", "push").order_by("-last_sync_at", "id")
    if not viewer.is_manager_or_admin:
        queryset = queryset.filter(user=viewer)
    return queryset


def sync_record_list(*, viewer) -> QuerySet[SyncRecord]:
    queryset = SyncRecord.objects.select_related("user", "device").order_by("-started_at", "-id")
    if not viewer.is_manager_or_admin:
        queryset = queryset.filter(user=viewer)
    return queryset


def version_key(version: str) -> tuple:
    """ "1.10.2" sorts after "1.9.7": compare the numbers, not the text."""
    return (tuple(int(n) for n in re.findall(r"\d+", version)), version)
