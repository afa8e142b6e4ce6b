"""One listener per process: the ledger's pokes, fanned out to the event streams open here.

Each app process (a uvicorn worker) holds one PostgreSQL connection that LISTENs on the
ledger's channel, whatever the number of streams it serves, and one more for the streams'
presence rows (events.models.Stream). A poke is sent by the writer's transaction and delivered
on commit (ledger/notify.py), so it reaches every node's listener after the data is there.

Pokes are coalesced: a stream keeps, per feed, only the newest version it has not yet been
told about, so a slow client or a burst of writes (an import of 100,000 rows, a sync of 500
contacts) costs one event per feed, and memory per stream stays constant. After the listening
connection is lost and comes back, every feed that moved meanwhile is poked: a lost poke only
delays a pull, it never loses a change (the client pulls its cursor as usual).

On SIGTERM or SIGINT (a deploy, a worker restart) every stream here ends at once, so the
server's graceful shutdown does not wait for streams that would never finish; the clients
reconnect to another worker.
"""

import asyncio
import json
import logging
import os
import signal
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import connections
from psycopg.conninfo import make_conninfo

from events.models import Stream as StreamRow
from ledger.models import ChangeFeed
from ledger.notify import CHANNEL, DEVICE_REVOKED, FEED, IMPORT, USER_REVOKED

logger = logging.getLogger(__name__)

NODE = f"{socket.gethostname()}:{os.getpid()}"
LIVENESS_SECONDS = 30  # a quiet listening connection is checked this often
NEVER_STARTED_SECONDS = 10
STREAM_REPLACED = "stream_replaced"  # {"device", "stream"}: the phone opened a newer stream
_STREAMS = StreamRow._meta.db_table
_FEEDS_TABLE = ChangeFeed._meta.db_table
# A stream is counted while its node refreshed it within three heartbeats.
_LIVE = "seen_at > now() - make_interval(secs => %s)"
_OPEN = (
    f"INSERT INTO {_STREAMS} (id, user_id, device_id, node, opened_at, seen_at) "  # noqa: S608 - the model's table
    "SELECT %s, %s, %s, %s, now(), now() "
    f"WHERE (SELECT count(*) FROM {_STREAMS} WHERE user_id = %s AND {_LIVE}) < %s "
    "RETURNING id"
)


class HubUnavailable(Exception):
    """The process cannot serve streams now (the database is unreachable, or it is stopping)."""


@dataclass(eq=False)
class Subscriber:
    """One open stream: what it has not been told yet, and a bell to ring."""

    id: uuid.UUID
    user_id: str
    device_id: str | None
    pending: dict[str, int] = field(default_factory=dict)  # feed -> newest version
    imports: dict[str, dict] = field(default_factory=dict)  # job id -> its newest state
    closed: bool = False
    bell: asyncio.Event = field(default_factory=asyncio.Event)
    opened: float = field(default_factory=time.monotonic)
    started: bool = False  # the response began: its generator will forget it when it ends

    def poke(self, feed: str, version: int) -> None:
        if version > self.pending.get(feed, 0):
            self.pending[feed] = version
            self.bell.set()

    def import_moved(self, job: dict) -> None:
        self.imports[str(job["id"])] = job
        self.bell.set()

    def close(self) -> None:
        self.closed = True
        self.bell.set()


def _conninfo() -> str:
    db = connections["default"].settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
        "host": db.get("HOST"),
        "port": str(db["PORT"]) if db.get("PORT") else None,
        "application_name": "crm-events",
    }
    # TCP keepalives: a path to the database that dies silently is noticed.
    params.update(keepalives="1", keepalives_idle="30", keepalives_interval="10",
                  keepalives_count="3")  # fmt: skip
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout"):
        if key in db.get("OPTIONS", {}):
            params[key] = db["OPTIONS"][key]
    return make_conninfo(**{key: value for key, value in params.items() if value})


class Hub:
    """The process's listener and its streams. Lives in the server's event loop."""

    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.subscribers: set[Subscriber] = set()
        self.heads: dict[str, int] = {}
        self.closing = False
        self._listening = asyncio.Event()
        self._listened_before = False
        self._dirty: dict[str, int] = {}
        self._writer: psycopg.AsyncConnection | None = None
        self._writer_lock = asyncio.Lock()
        self._forgetting: set[asyncio.Task] = set()
        self._tasks = [
            self.loop.create_task(self._listen(), name="events-listen"),
            self.loop.create_task(self._keep_presence(), name="events-presence"),
        ]
        _end_streams_on_stop(self)

    # --- streams ---------------------------------------------------------------------------

    async def open(self, *, user_id: str, device_id: str | None) -> Subscriber | None:
        """A new stream for ``user_id``, or None when the user already holds as many as the
        limit allows (on every node together)."""
        if self.closing:
            raise HubUnavailable("This server is shutting down.")
        try:
            # Listening before the stream starts: no poke committed after this can be missed.
            await asyncio.wait_for(self._listening.wait(), timeout=10)
        except TimeoutError:
            raise HubUnavailable("The event listener cannot reach the database.") from None
        subscriber = Subscriber(id=uuid.uuid4(), user_id=user_id, device_id=device_id)
        stale = 3 * settings.EVENTS_HEARTBEAT_SECONDS
        limit = settings.EVENTS_MAX_STREAMS_PER_USER
        async with self._writer_lock:
            conn = await self._writer_connection()
            async with conn.transaction():
                # One user's opens are counted one at a time, on every node.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [user_id])
                if device_id is not None:
                    # A phone holds one stream: the newest (the others are what a network
                    # switch left half-open). Their nodes close them when this commits.
                    await conn.execute(
                        f"DELETE FROM {_STREAMS} WHERE device_id = %s",  # noqa: S608
                        [device_id],
                    )
                    await conn.execute(
                        "SELECT pg_notify(%s, %s)",
                        [CHANNEL, json.dumps({"kind": STREAM_REPLACED, "device": device_id,
                                              "stream": str(subscriber.id)})],
                    )  # fmt: skip
                cursor = await conn.execute(
                    _OPEN, [subscriber.id, user_id, device_id, NODE, user_id, stale, limit]
                )
                admitted = await cursor.fetchone() is not None
        if not admitted:
            return None
        self.subscribers.add(subscriber)
        if self.closing:  # the server began to stop while this one was being admitted
            subscriber.close()
        return subscriber

    def close(self, subscriber: Subscriber) -> None:
        """The stream has ended: forget it here at once, its presence row soon after (in a
        task of its own, so a cancelled response cannot interrupt it)."""
        self.subscribers.discard(subscriber)
        task = self.loop.create_task(self._forget(subscriber.id))
        self._forgetting.add(task)
        task.add_done_callback(self._forgetting.discard)

    async def _forget(self, stream_id: uuid.UUID) -> None:
        try:
            async with self._writer_lock:
                conn = await self._writer_connection()
                await conn.execute(f"DELETE FROM {_STREAMS} WHERE id = %s", [stream_id])  # noqa: S608
        except (psycopg.Error, OSError):
            logger.warning("could not delete the presence row of stream %s", stream_id)

    def shutdown(self) -> None:
        """End every stream of this process (the server is stopping), and its presence rows."""
        self.closing = True
        for subscriber in list(self.subscribers):
            subscriber.close()
        task = self.loop.create_task(self._forget_node())
        self._forgetting.add(task)

    async def _forget_node(self) -> None:
        try:
            async with self._writer_lock:
                conn = await self._writer_connection()
                await conn.execute(f"DELETE FROM {_STREAMS} WHERE node = %s", [NODE])  # noqa: S608
        except (HubUnavailable, psycopg.Error, OSError):
            logger.warning("could not delete this node's presence rows")

    # --- the listener ----------------------------------------------------------------------

    async def _listen(self) -> None:
        delay = 0.5
        while not self.closing:
            try:
                async with await psycopg.AsyncConnection.connect(
                    _conninfo(), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    cursor = await conn.execute(f"SELECT name, version FROM {_FEEDS_TABLE}")  # noqa: S608
                    for feed, version in await cursor.fetchall():
                        # After a lost connection, whatever moved meanwhile is poked.
                        moved = self.heads.get(feed) != version
                        self._feed_moved(feed, version, poke=self._listened_before and moved)
                    self._listened_before = True
                    self._listening.set()
                    delay = 0.5
                    while not self.closing:
                        async for note in conn.notifies(timeout=LIVENESS_SECONDS):
                            self._dispatch(note.payload)
                        # A quiet spell: is the connection still there? (Pokes that arrive
                        # meanwhile wait in psycopg's backlog for the next notifies().)
                        await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                logger.warning("events listener: %s; listening again in %.1f s", exc, delay)
            self._listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)

    def _dispatch(self, payload: str) -> None:
        try:
            self._dispatch_note(json.loads(payload))
        except Exception:  # one bad note must not stop the listener
            logger.exception("events listener: could not dispatch %r", payload[:200])

    def _dispatch_note(self, note: dict) -> None:
        kind = note.pop("kind", None)
        if kind == FEED:
            self._feed_moved(note["feed"], int(note["version"]), poke=True)
        elif kind == IMPORT:
            user = str(note.pop("user", ""))
            for subscriber in self.subscribers:
                if subscriber.user_id == user:
                    subscriber.import_moved(note)
        elif kind == DEVICE_REVOKED:
            self._close_where(lambda s: s.device_id == str(note.get("device")))
        elif kind == USER_REVOKED:
            self._close_where(lambda s: s.user_id == str(note.get("user")))
        elif kind == STREAM_REPLACED:
            self._close_where(
                lambda s: s.device_id == str(note.get("device")) and str(s.id) != note.get("stream")
            )

    def _close_where(self, predicate) -> None:
        for subscriber in list(self.subscribers):
            if predicate(subscriber):
                subscriber.close()

    def _feed_moved(self, feed: str, version: int, *, poke: bool) -> None:
        """A feed's new head: from a notification (always news: each is sent by a commit), or
        read after reconnecting and different from what this process knew."""
        self.heads[feed] = version
        if not poke:
            return
        # Notifications of one commit arrive together: tell the streams once, after the batch.
        if not self._dirty:
            self.loop.call_soon(self._flush)
        self._dirty[feed] = version

    def _flush(self) -> None:
        dirty, self._dirty = self._dirty, {}
        for subscriber in self.subscribers:
            for feed, version in dirty.items():
                subscriber.poke(feed, version)

    # --- presence --------------------------------------------------------------------------

    async def _writer_connection(self) -> psycopg.AsyncConnection:
        if self._writer is None or self._writer.closed or self._writer.broken:
            try:
                self._writer = await psycopg.AsyncConnection.connect(_conninfo(), autocommit=True)
            except (psycopg.Error, OSError) as exc:
                raise HubUnavailable("The database cannot be reached.") from exc
        return self._writer

    async def _keep_presence(self) -> None:
        """Every heartbeat, one statement refreshes every stream this process serves."""
        try:
            await self._refresh_presence()
        finally:
            if self._writer is not None:
                await self._writer.close()

    async def _refresh_presence(self) -> None:
        while not self.closing:
            await asyncio.sleep(settings.EVENTS_HEARTBEAT_SECONDS)
            # A client that went away before its answer began leaves a stream whose generator
            # never runs (and so never forgets it): forget those here.
            now = time.monotonic()
            for subscriber in list(self.subscribers):
                if not subscriber.started and now - subscriber.opened > NEVER_STARTED_SECONDS:
                    subscriber.close()
                    self.close(subscriber)
            ids = [subscriber.id for subscriber in self.subscribers]
            if not ids:
                continue
            try:
                async with self._writer_lock:
                    conn = await self._writer_connection()
                    await conn.execute(
                        f"UPDATE {_STREAMS} SET seen_at = now() WHERE id = ANY(%s)",  # noqa: S608
                        [ids],
                    )
            except (HubUnavailable, psycopg.Error, OSError):
                logger.warning("could not refresh the presence of %d streams", len(ids))


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub_get() -> Hub:
    """The hub of the running event loop (one per server process), started on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub


def _end_streams_on_stop(hub: Hub) -> None:
    """Chain in front of the server's own SIGTERM/SIGINT handlers: the streams end, then the
    server goes on with its graceful shutdown (uvicorn waits for open responses to finish)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def handler(signum, frame, previous=previous):
            hub.loop.call_soon_threadsafe(hub.shutdown)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

        signal.signal(sig, handler)
