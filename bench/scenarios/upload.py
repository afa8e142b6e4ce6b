"""Scenario 4: call-log upload. POST /api/v1/calls with JSON arrays of 1,000 calls, against
(a) raw psycopg COPY of the same kind of rows into calls_calllog (contact ids already known, a
version taken from the feed, nothing validated) and (b) the same calls sent one per request.
Each leg uses fresh calls (new client_call_ids), so every row is really inserted; the rows
are deleted afterwards so later scenarios see the table at its nominal size."""

import json
import random
import time
from datetime import UTC, datetime

from bench.common import log, median, rate
from bench.data import CALL_COLUMNS, copy_rows, phone_as_entered, uuid4_str
from bench.report import Target

BATCH = 1000
DEVICE_PREFIX = "bench-upload-"


def _items(bench, count: int, device: str, seed: str) -> list[dict]:
    return [
        {
            "phone": phone_as_entered(e164, int(key)),
            "direction": direction,
            "started_at": started.isoformat().replace("+00:00", "Z"),
            "duration_seconds": duration,
            "device_id": device,
            "client_call_id": key,
            "_contact": contact,
            "_e164": e164,
            "_started": started,
        }
        for e164, direction, started, duration, key, contact in bench.data.call_items(
            count, seed=seed
        )
    ]


def _public(item: dict) -> dict:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def upload_batches(bench, client, items: list[dict]) -> float:
    bodies = [
        json.dumps([_public(i) for i in items[start : start + BATCH]])
        for start in range(0, len(items), BATCH)
    ]
    headers = {"Content-Type": "application/json"}
    started = time.perf_counter()
    for body in bodies:
        response = client.post("/api/v1/calls", content=body, headers=headers)
        if response.status_code != 201 or response.json()["created"] != BATCH:
            raise RuntimeError(f"batch upload: {response.status_code} {response.text[:300]}")
    return time.perf_counter() - started


def upload_singles(bench, client, items: list[dict]) -> float:
    bodies = [json.dumps(_public(i)) for i in items]
    headers = {"Content-Type": "application/json"}
    started = time.perf_counter()
    for body in bodies:
        response = client.post("/api/v1/calls", content=body, headers=headers)
        if response.status_code != 201 or response.json()["created"] != 1:
            raise RuntimeError(f"single upload: {response.status_code} {response.text[:300]}")
    return time.perf_counter() - started


def copy_raw(bench, items: list[dict], rng: random.Random) -> float:
    contact_ids = bench.data.contact_ids
    user = bench.data.admin_id
    now = datetime.now(UTC)
    conn = bench.conn
    started = time.perf_counter()
    with conn.transaction():
        version = conn.execute(
            "UPDATE ledger_changefeed SET version = version + 1 WHERE name = 'calls' "
            "RETURNING version"
        ).fetchone()[0]
        rows = (
            (
                uuid4_str(rng),
                user,
                contact_ids[i["_contact"]] if i["_contact"] is not None else None,
                i["phone"],
                i["_e164"],
                i["direction"],
                i["_started"],
                i["duration_seconds"],
                i["device_id"],
                i["client_call_id"],
                now,
                version,
            )
            for i in items
        )
        copy_rows(conn, "calls_calllog", CALL_COLUMNS, rows)
    return time.perf_counter() - started


def run(bench) -> None:
    profile = bench.profile
    count = profile.upload_batches * BATCH
    rng = random.Random(11)
    api_rates, copy_rates, single_rates = [], [], []
    try:
        with bench.api() as client:
            # Warm-up: one batch and a few singles (not counted).
            upload_batches(bench, client, _items(bench, BATCH, DEVICE_PREFIX + "warm", "w"))
            upload_singles(bench, client, _items(bench, 20, DEVICE_PREFIX + "warm", "w1"))
            for rep in range(profile.reps):
                items = _items(bench, count, DEVICE_PREFIX + "api", f"api-{rep}")
                api_rates.append(count / upload_batches(bench, client, items))
                items = _items(bench, count, DEVICE_PREFIX + "copy", f"copy-{rep}")
                copy_rates.append(count / copy_raw(bench, items, rng))
                items = _items(bench, profile.single_calls, DEVICE_PREFIX + "one", f"one-{rep}")
                single_rates.append(profile.single_calls / upload_singles(bench, client, items))
    finally:
        bench.conn.execute(
            "DELETE FROM calls_calllog WHERE device_id LIKE %s", [DEVICE_PREFIX + "%"]
        )
        bench.conn.execute("VACUUM (ANALYZE) calls_calllog")
    log(f"upload rows/s: api {api_rates}, copy {copy_rates}, one-per-request {single_rates}")
    api, raw, single = median(api_rates), median(copy_rates), median(single_rates)
    bench.report.compare(
        4.0,
        f"4 call upload, {profile.upload_batches} batches of {BATCH:,}",
        rate(api),
        f"raw COPY {rate(raw)}",
        api / raw,
        Target(">=", 0.30, percent=True),
    )
    bench.report.compare(
        4.1,
        "4 call upload, batches vs one per request",
        rate(api),
        f"{profile.single_calls} single POSTs {rate(single)}",
        api / single,
        Target(">=", 20.0),
    )
