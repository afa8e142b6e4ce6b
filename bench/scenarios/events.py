"""Scenario 12: real time. With 200 open event streams (GET /api/v1/events on the bench's
server, the production ASGI command), the time from a contact write's commit until the poke
has reached every stream, against the same fan-out done bare: 200 psycopg connections
LISTENing on the same channel, woken by the same write. And the memory an open stream costs
the server.

The write is the one the app's contact services make, done by the harness through psycopg so
that its commit can be timed: the version taken with the app's statement (``UPDATE
ledger_changefeed ... RETURNING`` with ``pg_notify`` in the same statement, as
``ledger.versioning.version_next`` runs it) and the contact row given it; the clock starts
just before COMMIT. Both sides are read by one asyncio loop in this process (the streams over
plain sockets, the listeners through psycopg's async connections), so the client's own cost
is the same for both. Rounds alternate: the 200 streams open, WRITES writes, the streams
close; the 200 listeners connect, the same writes, they close.
"""

import asyncio
import json
import time

import psycopg

from bench.common import log, median, ms, percentile
from bench.report import Target

STREAMS = 200
ROUNDS = 3
WRITES = 20
PAUSE = 0.25  # seconds between writes
CHANNEL = "crm_events"
NEXT = (
    "WITH issued AS (UPDATE ledger_changefeed SET version = version + 1 "
    "WHERE name = 'contacts' RETURNING name, version) "
    f"SELECT version, pg_notify('{CHANNEL}', json_build_object("
    "'kind', 'feed', 'feed', name, 'version', version)::text) FROM issued"
)


class Arrivals:
    """When each client saw each version."""

    def __init__(self):
        self.seen: dict[int, list[float]] = {}

    def add(self, version: int) -> None:
        self.seen.setdefault(version, []).append(time.perf_counter())


def _write(db_url: str, contact_id: str, name: str) -> tuple[int, float]:
    with psycopg.connect(db_url) as conn:
        version = conn.execute(NEXT).fetchone()[0]
        conn.execute(
            "UPDATE contacts_contact SET name = %s, version = %s, updated_at = now() WHERE id = %s",
            [name, version, contact_id],
        )
        committed = time.perf_counter()
        conn.commit()
    return version, committed


async def _writes(bench, contact_id: str, label: str) -> dict[int, float]:
    commits = {}
    for n in range(WRITES):
        version, at = await asyncio.to_thread(_write, bench.db_url, contact_id, f"{label} {n}")
        commits[version] = at
        await asyncio.sleep(PAUSE)
    await asyncio.sleep(1)  # the last pokes arrive
    return commits


async def _stream(host: str, port: int, token: str, arrivals: Arrivals, ready: asyncio.Event):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET /api/v1/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"event stream refused: {status!r}")
    try:
        while line := await reader.readline():
            if line.startswith(b"data: "):
                arrivals.add(json.loads(line[6:])["version"])
            elif line.startswith(b": stream open"):
                ready.set()
    finally:
        writer.close()


async def _listener(db_url: str, arrivals: Arrivals, ready: asyncio.Event):
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        ready.set()
        async for note in conn.notifies():
            arrivals.add(json.loads(note.payload)["version"])


async def _phase(bench, clients, contact_id: str, label: str):
    arrivals = Arrivals()
    readies = [asyncio.Event() for _ in range(STREAMS)]
    tasks = [asyncio.create_task(clients(arrivals, ready)) for ready in readies]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=60)
    commits = await _writes(bench, contact_id, label)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    every, each = [], []
    for version, committed in commits.items():
        seen = arrivals.seen.get(version, [])
        if len(seen) < STREAMS:
            raise RuntimeError(f"{label}: version {version} reached {len(seen)} of {STREAMS}")
        every.append(max(seen) - committed)
        each.extend(at - committed for at in seen)
    return every, each


def _rss_kib(bench) -> int:
    return sum(bench.server.worker_memory_kib("VmRSS"))


def run(bench) -> None:
    host, port = "127.0.0.1", bench.server.port
    contact_id = str(
        bench.conn.execute(
            "SELECT id FROM contacts_contact WHERE deleted_at IS NULL LIMIT 1"
        ).fetchone()[0]
    )

    def streams(arrivals, ready):
        return _stream(host, port, bench.token, arrivals, ready)

    def listeners(arrivals, ready):
        return _listener(bench.db_url, arrivals, ready)

    async def measure():
        # Warm-up: each worker starts its listener with its first stream.
        await _phase(bench, streams, contact_id, "warm-up")
        ours_every, ours_each, floor_every, floor_each = [], [], [], []
        memory = None
        for round_ in range(ROUNDS):
            if round_ == 0:
                before = _rss_kib(bench)
                arrivals, readies = Arrivals(), [asyncio.Event() for _ in range(STREAMS)]
                held = [asyncio.create_task(streams(arrivals, r)) for r in readies]
                await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
                await _writes(bench, contact_id, "memory")
                memory = (_rss_kib(bench) - before, before)
                for task in held:
                    task.cancel()
                await asyncio.gather(*held, return_exceptions=True)
            every, each = await _phase(bench, streams, contact_id, f"ours {round_}")
            ours_every += every
            ours_each += each
            every, each = await _phase(bench, listeners, contact_id, f"floor {round_}")
            floor_every += every
            floor_each += each
            log(
                f"events round {round_}: ours p95 {ms(percentile(every, 95))} ... "
                f"floor p95 {ms(percentile(floor_every, 95))}"
            )
        return ours_every, ours_each, floor_every, floor_each, memory

    ours_every, ours_each, floor_every, floor_each, memory = asyncio.run(measure())
    p50, p95 = median(ours_every), percentile(ours_every, 95)
    f50, f95 = median(floor_every), percentile(floor_every, 95)
    writes = len(ours_every)
    bench.report.compare(
        12.0,
        f"12 poke to all {STREAMS} open streams after a contact write's commit, p95",
        f"p95 {ms(p95)}, p50 {ms(p50)} ({writes} writes; each stream p50 {ms(median(ours_each))})",
        f"bare LISTEN x{STREAMS} p95 {ms(f95)}, p50 {ms(f50)} (each p50 {ms(median(floor_each))})",
        p95 / f95,
        Target("<=", 3.0),
    )
    grown, before = memory
    bench.report.info(
        12.1,
        f"12 server memory per open event stream ({STREAMS} streams, {bench.workers} workers)",
        f"{grown / STREAMS:.1f} KiB",
        f"workers' RSS {before / 1024:.0f} MiB before, +{grown / 1024:.1f} MiB with them open",
    )
