"""Scenario 3: delta sync of 100 changes. A phone holds the cursor of the head of the feed;
100 random contacts change (one writer transaction, as the app's services do: bump the
contacts feed by 100, stamp the rows); the phone asks GET /sync/contacts?cursor=... and gets
exactly those 100. The latency must not grow with the size of the table."""

import random

from bench.client import timed_get
from bench.common import log, median, ms
from bench.data import feed_version
from bench.report import Target

CHANGES = 100
REPS = 20  # each is one ~15 ms request: cheap enough for a stable median
WARMUP = 3


def change_contacts(bench, rng: random.Random, count: int = CHANGES) -> None:
    conn = bench.conn
    ids = rng.sample(bench.data.contact_ids, count)
    with conn.transaction():
        top = conn.execute(
            "UPDATE ledger_changefeed SET version = version + %s WHERE name = 'contacts' "
            "RETURNING version",
            [count],
        ).fetchone()[0]
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE contacts_contact SET version = %s, updated_at = now() WHERE id = %s",
                [(top - count + 1 + i, contact_id) for i, contact_id in enumerate(ids)],
            )


def measure(bench, reps: int, seed: int) -> list[float]:
    """Median-ready latencies of ``reps`` delta syncs. The first cursor is minted at the head;
    each later one is the cursor the previous answer returned, as on a phone."""
    rng = random.Random(seed)
    cursor = bench.mint_cursor("contacts", feed_version(bench.conn, "contacts"))
    latencies = []
    with bench.api() as client:
        for rep in range(reps + WARMUP):
            change_contacts(bench, rng)
            took, response = timed_get(client, "/api/v1/sync/contacts", params={"cursor": cursor})
            body = response.json()
            if len(body["changes"]) != CHANGES or body["has_more"]:
                raise RuntimeError(
                    f"delta returned {len(body['changes'])} changes, has_more={body['has_more']}"
                )
            cursor = body["cursor"]
            if rep >= WARMUP:
                latencies.append(took)
    return latencies


def run_small(bench) -> None:
    latencies = measure(bench, REPS, seed=3)
    log(f"delta at {bench.data.contacts:,}: {[round(t * 1000, 1) for t in latencies]} ms")
    bench.shared["delta_small"] = (bench.data.contacts, median(latencies))


def run_big(bench) -> None:
    if "delta_small" not in bench.shared:
        raise RuntimeError("the small-table delta was not measured")
    small_size, small = bench.shared["delta_small"]
    latencies = measure(bench, REPS, seed=4)
    log(f"delta at {bench.data.contacts:,}: {[round(t * 1000, 1) for t in latencies]} ms")
    big = median(latencies)
    bench.report.compare(
        3.0,
        f"3 delta sync {CHANGES} changes at {bench.data.contacts:,} contacts",
        ms(big),
        f"{ms(small)} at {small_size:,}",
        big / small,
        Target("<=", 1.5),
    )
