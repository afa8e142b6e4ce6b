"""Scenario 10: the contacts export at the read size (full: 1,000,000 contacts).

- ``GET /api/v1/contacts/export?format=csv`` of every live contact, streamed and counted: the
  body is read in chunks as it arrives (httpx, which asks for gzip as browsers do; the chunks
  are decoded and their lines counted, nothing is kept), against the floor: the very query the
  app builds for it (``contact_list().values(<the export's columns>)``, taken with
  ``sql_with_params``: the same columns, the creator's email by the same join, the same
  order) run as ``COPY (...) TO STDOUT (FORMAT csv, HEADER)`` through psycopg, every row
  received and counted. Rounds alternate floor and ours; each figure is the median of
  ``export_reps`` rounds after a warm-up (the floor once in full, ours with the ~9% export
  below: every code path, without a minute more per run).
- The serving worker's memory: a separate gunicorn with one worker (so the serving process is
  known) on the same database, started anew for each size, so that ``VmHWM`` (the peak
  resident set so far, ``/proc/<pid>/status``) starts from the worker as booted (it has
  answered the start-up's ``/healthz``, nothing else). One export, then ``VmHWM`` again:
  growth = peak after - peak before, everything that serving the export took (the one-time
  cost of a first API request included, the same for both sizes). Sizes:
  ``created_by=<one agent>`` (one owner in eleven: ~9% of the contacts, 90,909 at 1M) and every
  contact. Flat: the growth at 1M is at most 1.2x the growth at ~100k (or differs from it by
  at most 1 MiB, in case the first is near zero). A cost of one byte a row would show as
  about 1 MiB more at 1M.
"""

import time
from dataclasses import dataclass

import httpx
import psycopg

from bench.app import Gunicorn, django_json
from bench.client import api_client
from bench.common import log, median, rate, secs
from bench.pg import free_port
from bench.report import Target

EXPORT = "/api/v1/contacts/export"
FLAT_RATIO = 1.2
FLAT_SLACK_MIB = 1.0  # below this, a difference is not a growth (page granularity, arenas)


def app_export_sql(bench) -> str:
    """The export's query as the app builds it (the view adds nothing without filters), with
    its parameters inlined, ready to go inside COPY (...)."""
    sql, params = django_json(
        bench.env,
        "import json\n"
        "from contacts.selectors import EXPORT_HEADER, contact_list\n"
        "fields = ['created_by__email' if h == 'created_by_email' else h for h in EXPORT_HEADER]\n"
        "query = contact_list().values(*fields).query\n"
        "sql, params = query.sql_with_params()\n"
        "print(json.dumps([sql, [str(p) for p in params]]))",
    )
    with psycopg.connect(bench.db_url) as conn:
        return psycopg.ClientCursor(conn).mogrify(sql, params)


def floor_export(conn: psycopg.Connection, sql: str) -> tuple[float, int, int]:
    """COPY of the same query to the client: (seconds, data rows, bytes)."""
    started = time.perf_counter()
    rows = size = 0
    with conn.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)") as copy:
        for block in copy:  # one row per block
            rows += 1
            size += len(block)
    return time.perf_counter() - started, rows - 1, size


@dataclass
class Export:
    seconds: float
    first_byte: float  # until the first chunk of the body
    rows: int
    size: int  # bytes of CSV
    compressed: int  # bytes on the wire
    encoding: str


def api_export(client: httpx.Client, params: dict) -> Export:
    """One export, streamed: its lines counted as the chunks arrive, none kept. httpx's own
    Accept-Encoding (gzip, deflate), as a browser would."""
    started = time.perf_counter()
    first_byte = None
    lines = size = 0
    with client.stream("GET", EXPORT, params={"format": "csv", **params}) as response:
        if response.status_code != 200:
            response.read()
            raise RuntimeError(f"GET {EXPORT} -> {response.status_code}: {response.text[:200]}")
        for chunk in response.iter_bytes():  # decoded: gzip undone
            if first_byte is None:
                first_byte = time.perf_counter() - started
            lines += chunk.count(b"\n")
            size += len(chunk)
        encoding = response.headers.get("content-encoding", "identity")
        wire = response.num_bytes_downloaded
    took = time.perf_counter() - started
    return Export(took, first_byte or took, lines - 1, size, wire, encoding)


def peak_growth(bench, params: dict) -> tuple[int, int, int]:
    """(VmHWM before, VmHWM after, rows), in KiB, of a fresh one-worker gunicorn serving one
    export: before is the worker as started (it has answered the start-up's /healthz)."""
    with (
        Gunicorn(bench.env, free_port(), 1, log_name="gunicorn-export-rss") as server,
        api_client(server.base_url, bench.token) as client,
    ):
        (pid,) = server.worker_pids()
        (before,) = server.worker_memory_kib("VmHWM")
        done = api_export(client, params)
        (after,) = server.worker_memory_kib("VmHWM")
        (rss,) = server.worker_memory_kib("VmRSS")
        if server.worker_pids() != [pid]:
            raise RuntimeError("the gunicorn worker was replaced during the export")
    log(
        f"export RSS {params or 'all'}: {done.rows:,} rows in {secs(done.seconds)}; VmHWM "
        f"{before / 1024:.1f} -> {after / 1024:.1f} MiB (VmRSS after {rss / 1024:.1f} MiB)"
    )
    return before, after, done.rows


def run(bench) -> None:
    live = bench.conn.execute(
        "SELECT count(*) FROM contacts_contact WHERE deleted_at IS NULL"
    ).fetchone()[0]
    sql = app_export_sql(bench)
    agent = bench.data.agent_ids[0]
    floors, ours = [], []
    with bench.api() as client, psycopg.connect(bench.db_url, autocommit=True) as conn:
        floor_export(conn, sql)  # warm-up: the table in the caches
        api_export(client, {"created_by": agent})  # warm-up: the code path (~9% of the rows)
        for _ in range(bench.profile.export_reps):
            floors.append(floor_export(conn, sql))
            ours.append(api_export(client, {}))
    counts = {f[1] for f in floors} | {e.rows for e in ours}
    if counts != {live}:
        raise RuntimeError(f"the exports counted {sorted(counts)} rows of {live:,} live contacts")
    encodings = {e.encoding for e in ours}
    floor_s = median(f[0] for f in floors)
    ours_s = median(e.seconds for e in ours)
    log(
        f"export: floor {[round(f[0], 2) for f in floors]} s, ours "
        f"{[round(e.seconds, 2) for e in ours]} s (first bytes "
        f"{[round(e.first_byte, 2) for e in ours]} s, {encodings}, "
        f"{[round(e.compressed / 1e6, 1) for e in ours]} MB on the wire); CSV "
        f"{ours[0].size / 1e6:.0f} MB (COPY {floors[0][2] / 1e6:.0f} MB)"
    )
    floor_rate = live / floor_s
    bench.report.compare(
        10.0,
        f"10 GET /contacts/export?format=csv, {live:,} contacts ({'/'.join(sorted(encodings))})",
        f"{rate(live / ours_s)} ({secs(ours_s)}, first byte "
        f"{secs(median(e.first_byte for e in ours))}, {ours[0].size / 1e6:.0f} MB)",
        f"COPY (same query) TO STDOUT {rate(floor_rate)} ({secs(floor_s)})",
        floor_s / ours_s,
        Target(">=", 0.25, percent=True),
    )

    small_before, small_after, small_rows = peak_growth(bench, {"created_by": agent})
    big_before, big_after, big_rows = peak_growth(bench, {})
    if big_rows != live:
        raise RuntimeError(f"the memory export counted {big_rows:,} of {live:,} contacts")
    small = (small_after - small_before) / 1024
    big = (big_after - big_before) / 1024
    bench.report.verdict(
        10.2,
        f"10 export worker peak RSS growth (VmHWM), {small_rows:,} vs {big_rows:,} rows",
        f"+{big:.1f} MiB at {big_rows:,} (peak {big_after / 1024:.0f} MiB)",
        f"+{small:.1f} MiB at {small_rows:,} (peak {small_after / 1024:.0f} MiB)",
        f"{big / small:.2f}x" if small > 0 else f"{big - small:+.1f} MiB",
        f"≤ {FLAT_RATIO:.1f}x (or +{FLAT_SLACK_MIB:.0f} MiB)",
        big <= FLAT_RATIO * small or big - small <= FLAT_SLACK_MIB,
    )
