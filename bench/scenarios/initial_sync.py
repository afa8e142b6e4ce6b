"""Scenario 1: initial sync of the whole contact book through GET /sync/contacts?limit=5000,
against the in-process floor: psycopg selecting the same rows in the same (version, id) pages
and json.dumps-ing them, with no HTTP and no Django."""

import json
import time

from bench.client import timed_get
from bench.common import log, median, secs
from bench.report import Target
from crm.timestamps import iso_utc

PAGE = 5000
FLOOR_SQL = """
SELECT c.id, c.name, c.phone, c.phone_normalized, c.email, c.company, c.title, c.notes,
       c.created_by_id, u.name, c.created_at, c.updated_at, c.version, c.tags,
       c.custom_fields, c.lists
  FROM contacts_contact c JOIN accounts_user u ON u.id = c.created_by_id
 WHERE c.deleted_at IS NULL AND (c.version, c.id) > (%s, %s)
 ORDER BY c.version, c.id
 LIMIT %s
"""


def full_sync(client, limit: int = PAGE) -> tuple[float, int, int, str]:
    """Follow the cursor from nothing to the end: (seconds, requests, contacts, last cursor).
    The client parses every page, as a phone must."""
    started = time.perf_counter()
    cursor, requests, count = None, 0, 0
    while True:
        params = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        _, response = timed_get(client, "/api/v1/sync/contacts", params=params)
        body = response.json()
        requests += 1
        count += len(body["changes"])
        cursor = body["cursor"]
        if not body["has_more"]:
            return time.perf_counter() - started, requests, count, cursor


def floor_sync(conn, limit: int = PAGE) -> tuple[float, int]:
    started = time.perf_counter()
    position = (-1, "00000000-0000-0000-0000-000000000000")
    count = 0
    while True:
        rows = conn.execute(FLOOR_SQL, [*position, limit + 1]).fetchall()
        page = rows[:limit]
        changes = [
            {
                "id": str(r[0]),
                "name": r[1],
                "phone": r[2],
                "phone_normalized": r[3],
                "email": r[4],
                "company": r[5],
                "title": r[6],
                "notes": r[7],
                "tags": r[13],
                "custom_fields": r[14],
                "lists": [str(pk) for pk in r[15]],
                "created_by": str(r[8]),
                "created_by_name": r[9],
                "created_at": iso_utc(r[10]),
                "updated_at": iso_utc(r[11]),
                "version": r[12],
            }
            for r in page
        ]
        json.dumps({"changes": changes, "cursor": "x" * 120, "has_more": len(rows) > limit})
        count += len(page)
        if len(rows) <= limit:
            return time.perf_counter() - started, count
        position = (page[-1][12], page[-1][0])


def run(bench) -> None:
    rss_before = max(bench.server.worker_memory_kib("VmHWM"))
    with bench.api() as client:
        full_sync(client)  # warm-up: every worker has imported everything, caches are warm
        floor_sync(bench.conn)
        ours, floors = [], []
        for _ in range(bench.profile.reps):
            took, requests, count, _ = full_sync(client)
            ours.append(took)
            floor_took, floor_count = floor_sync(bench.conn)
            floors.append(floor_took)
    if count != floor_count:
        raise RuntimeError(f"the API synced {count} contacts, the floor read {floor_count}")
    rss_after = max(bench.server.worker_memory_kib("VmHWM"))
    figure, floor = median(ours), median(floors)
    log(f"initial sync: {ours} vs floor {floors}")
    bench.report.compare(
        1.0,
        f"1 initial sync {count:,} contacts (limit {PAGE})",
        f"{secs(figure)}, {requests} requests",
        f"floor (psycopg + json.dumps) {secs(floor)}",
        figure / floor,
        Target("<=", 3.0),
    )
    bench.report.info(
        1.1,
        "1 gunicorn worker peak RSS (VmHWM)",
        f"{rss_after / 1024:.0f} MiB",
        f"{rss_before / 1024:.0f} MiB before the sync",
    )
