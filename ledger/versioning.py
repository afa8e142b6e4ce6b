"""The change counter behind the sync feeds.

The problem: with a plain sequence, transaction A can take version 104, transaction B take 105
and commit first; a phone reading in between sees 105, moves its cursor past 104, and never
receives A's change once A commits.

The choice: a version is taken by ``UPDATE ... SET version = version + 1 RETURNING`` on the
feed's row in ``ChangeFeed``. The row lock is held until the writer's transaction ends, so the
next writer gets its number only after the previous one has committed (or rolled back).
Versions therefore become visible in exactly the order they were issued, and a reader that
follows cursors can never see N+1 without N. The price is that writers of one feed are
serialised from the moment they take a number until commit — so services take the number as
the *last* step before writing, after all validation and lookups, and keep those transactions
short. A team of fifty phones writes a few contacts a second; the lock is held for
milliseconds. Contacts and calls have separate rows, so call uploads never wait for contact
edits.

Rows are read in (version, id) order. One write transaction may stamp many rows with the same
version (a bulk import or a call batch): they become visible together, and the cursor keeps
the last id so paging can stop in the middle of such a group.
"""

from django.db import connection

from ledger.models import ChangeFeed
from ledger.notify import CHANNEL, FEED

CONTACTS = "contacts"
CALLS = "calls"
LISTS = "lists"
DNC = "dnc"
FEEDS = (CONTACTS, CALLS, LISTS, DNC)

# The version and its poke in one statement: the NOTIFY is delivered when the writer commits
# (ledger/notify.py), so a client woken by it always finds the change.
_NEXT = (
    f"WITH issued AS (UPDATE {ChangeFeed._meta.db_table} SET version = version + 1 "  # noqa: S608 - the model's table name
    "WHERE name = %s RETURNING name, version) "
    f"SELECT version, pg_notify('{CHANNEL}', json_build_object("
    f"'kind', '{FEED}', 'feed', name, 'version', version)::text) FROM issued"
)


def version_next(feed: str) -> int:
    """Issue the next version of ``feed``. Must run inside the writer's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("version_next() must be called inside transaction.atomic()")
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(_NEXT, [feed])
            row = cursor.fetchone()
            if row is not None:
                return row[0]
            feed_ensure(feed)
    raise RuntimeError(f"change feed {feed!r} could not be created")


_LOCK = f"SELECT version FROM {ChangeFeed._meta.db_table} WHERE name = %s FOR UPDATE"  # noqa: S608


def feed_lock(feed: str) -> None:
    """Wait for the writers of ``feed`` in flight, and hold off the next ones until this
    transaction ends, without issuing a version (nor a poke): for a writer that may find it
    has nothing to write. ``version_next`` may follow in the same transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("feed_lock() must be called inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(_LOCK, [feed])
        if cursor.fetchone() is None:
            feed_ensure(feed)
            cursor.execute(_LOCK, [feed])


def feed_ensure(feed: str) -> None:
    """Create the feed's row if it is missing (a fresh or flushed database)."""
    ChangeFeed.objects.bulk_create([ChangeFeed(name=feed)], ignore_conflicts=True)
