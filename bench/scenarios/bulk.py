"""Scenario 8: a bulk operation on 10,000 contacts. ``POST /api/v1/contacts/bulk`` with
``add_tags`` by ids (the whole request: validation, the row locks, the UPDATE, the undo
record and an activity row per contact) against the same change made raw: psycopg running
one ``UPDATE`` of the same rows' tags with a version taken from the feed, nothing recorded.
Each repetition adds a new tag, so every run changes every row; the two alternate."""

import random
import time

from bench.common import log, median, secs
from bench.report import Target

CONTACTS = 10_000
REPS = 5
WARMUP = 1

_RAW = """
UPDATE contacts_contact SET tags = array_append(tags, %(tag)s),
  tags_key = array_append(tags_key, lower(%(tag)s)), version = %(version)s, updated_at = now()
WHERE id = ANY(%(ids)s::uuid[])
"""


def _raw(bench, ids, tag: str) -> float:
    conn = bench.conn
    started = time.perf_counter()
    with conn.transaction():
        version = conn.execute(
            "UPDATE ledger_changefeed SET version = version + 1 WHERE name = 'contacts' "
            "RETURNING version"
        ).fetchone()[0]
        conn.execute(_RAW, {"tag": tag, "version": version, "ids": ids})
    return time.perf_counter() - started


def _api(client, ids, tag: str) -> float:
    body = {"action": "add_tags", "contact_ids": ids, "data": {"tags": [tag]}}
    started = time.perf_counter()
    response = client.post("/api/v1/contacts/bulk", json=body, timeout=300)
    took = time.perf_counter() - started
    response.raise_for_status()
    answer = response.json()
    if answer["succeeded"] != len(ids):
        raise RuntimeError(f"bulk changed {answer['succeeded']} of {len(ids)} contacts")
    return took


def run(bench) -> None:
    rng = random.Random(8)
    ids = [str(pk) for pk in rng.sample(bench.data.contact_ids, CONTACTS)]
    api_times, raw_times = [], []
    with bench.api() as client:
        for rep in range(REPS + WARMUP):
            api_took = _api(client, ids, f"bench api {rep}")
            raw_took = _raw(bench, ids, f"bench raw {rep}")
            if rep >= WARMUP:
                api_times.append(api_took)
                raw_times.append(raw_took)
    shown = [round(t, 3) for t in api_times], [round(t, 3) for t in raw_times]
    log(f"bulk add_tags: api {shown[0]} s, raw {shown[1]} s")
    api, raw = median(api_times), median(raw_times)
    bench.report.compare(
        8.0,
        f"8 bulk add_tags of {CONTACTS:,} contacts (POST /contacts/bulk)",
        secs(api),
        f"raw UPDATE {secs(raw)}",
        raw / api,
        Target(">=", 0.25, percent=True),
    )
