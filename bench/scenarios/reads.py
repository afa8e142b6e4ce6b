"""Scenario 6: reads at scale with 8 concurrent clients (closed loop: each client sends its
next request when the previous answer is in).

- GET /api/v1/contacts?limit=50, GET /api/v1/contacts?search=<surname start> and
  GET /api/v1/calls?contact=<id>, each against the yardstick ``/bench/pk/<id>`` (a plain
  Django JsonResponse view doing one primary-key query, same server): throughput ≥ 50%.
- Search p95 against the very SQL the app runs for the page (taken from the app's own
  queryset, sql_with_params) run raw through psycopg by 8 threads: ≤ 2x.
- Deep paging: /calls?limit=50 page 1 against the last page, sequential: ≤ 2x apart.

Rounds interleave the endpoints; the throughput is the median over rounds, p50/p95 are over
every request of every round.
"""

import math
import random
import threading
import time

import psycopg

from bench.app import django_json
from bench.client import api_client, closed_loop, timed_get
from bench.common import log, median, ms, percentile
from bench.data import search_fragments
from bench.report import Target

CLIENTS = 8


def _url_makers(bench, fragments: list[str]) -> dict:
    ids = bench.data.contact_ids
    return {
        "pk": lambda rng: f"/bench/pk/{rng.choice(ids)}",
        "contacts": lambda rng: "/api/v1/contacts?limit=50",
        "search": lambda rng: f"/api/v1/contacts?search={rng.choice(fragments)}",
        "calls": lambda rng: f"/api/v1/calls?contact={rng.choice(ids)}",
    }


def http_load(bench, make_url, seconds: float, seed: int):
    clients = [api_client(bench.base_url, bench.token) for _ in range(CLIENTS)]
    rngs = [random.Random(seed * 100 + i) for i in range(CLIENTS)]

    def request(client: int, n: int) -> float:
        took, _ = timed_get(clients[client], make_url(rngs[client]))
        return took

    try:
        return closed_loop(request, clients=CLIENTS, seconds=seconds)
    finally:
        for client in clients:
            client.close()


def raw_search_load(bench, statements: list, seconds: float, seed: int):
    local = threading.local()
    connections = []
    lock = threading.Lock()
    rngs = [random.Random(seed * 100 + i) for i in range(CLIENTS)]

    def request(client: int, n: int) -> float:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(bench.db_url, autocommit=True)
            with lock:
                connections.append(local.conn)
        sql, params = rngs[client].choice(statements)
        started = time.perf_counter()
        local.conn.execute(sql, params).fetchall()
        return time.perf_counter() - started

    try:
        return closed_loop(request, clients=CLIENTS, seconds=seconds)
    finally:
        for conn in connections:
            conn.close()


def app_search_sql(bench, fragments: list[str]) -> list:
    """The page query of GET /contacts?search=..., as the app builds it (without its COUNT)."""
    return [
        (sql, tuple(params))
        for sql, params in django_json(
            bench.env,
            "import json\n"
            "from contacts.selectors import contact_list, contact_search\n"
            "out = []\n"
            f"for text in {fragments!r}:\n"
            "    query = contact_search(contact_list(), text)[:50].query\n"
            "    sql, params = query.sql_with_params()\n"
            "    out.append([sql, list(params)])\n"
            "print(json.dumps(out))",
        )
    ]


def deep_paging(bench) -> tuple[list[float], list[float], int]:
    firsts, lasts = [], []
    with bench.api() as client:
        _, response = timed_get(client, "/api/v1/calls", params={"limit": 50})
        last_page = max(1, math.ceil(response.json()["count"] / 50))
        timed_get(client, "/api/v1/calls", params={"limit": 50, "page": last_page})
        for _ in range(bench.profile.deep_reps):
            firsts.append(timed_get(client, "/api/v1/calls", params={"limit": 50})[0])
            lasts.append(
                timed_get(client, "/api/v1/calls", params={"limit": 50, "page": last_page})[0]
            )
    return firsts, lasts, last_page


def run(bench) -> None:
    profile = bench.profile
    fragments = search_fragments(20)
    makers = _url_makers(bench, fragments)
    statements = app_search_sql(bench, fragments)
    results: dict[str, list] = {name: [] for name in [*makers, "raw search"]}
    for round_ in range(profile.read_rounds):
        for name, make_url in makers.items():
            if round_ == 0:
                http_load(bench, make_url, 0.5, seed=99)  # warm-up
            result = http_load(bench, make_url, profile.read_seconds, seed=round_)
            if result.errors:
                raise RuntimeError(f"{name}: {result.errors} errors, e.g. {result.first_error}")
            results[name].append(result)
        if round_ == 0:
            raw_search_load(bench, statements, 0.5, seed=99)
        results["raw search"].append(raw_search_load(bench, statements, profile.read_seconds, 1))

    def throughput(name: str) -> float:
        return median([r.throughput for r in results[name]])

    def latencies(name: str) -> list[float]:
        return [t for r in results[name] for t in r.latencies]

    for name, values in results.items():
        log(
            f"{name}: {[round(r.throughput) for r in values]} req/s, "
            f"p50 {ms(percentile(latencies(name), 50))}, p95 {ms(percentile(latencies(name), 95))}"
        )

    pk = throughput("pk")
    size = f"{bench.data.contacts:,} contacts"
    labels = {
        "contacts": "GET /contacts?limit=50",
        "search": "GET /contacts?search=<fragment>",
        "calls": "GET /calls?contact=<id>",
    }
    for offset, (name, label) in enumerate(labels.items()):
        lat = latencies(name)
        bench.report.compare(
            6.0 + offset / 10,
            f"6 {label}, {CLIENTS} clients, {size}",
            f"{throughput(name):,.0f} req/s (p50 {ms(percentile(lat, 50))}, "
            f"p95 {ms(percentile(lat, 95))})",
            f"pk view {pk:,.0f} req/s (p50 {ms(percentile(latencies('pk'), 50))})",
            throughput(name) / pk,
            Target(">=", 0.50, percent=True),
        )
    search_p95 = percentile(latencies("search"), 95)
    raw_p95 = percentile(latencies("raw search"), 95)
    bench.report.compare(
        6.3,
        f"6 search p95 vs the same SQL raw, {CLIENTS} clients",
        ms(search_p95),
        f"psycopg p95 {ms(raw_p95)} ({throughput('raw search'):,.0f} q/s)",
        search_p95 / raw_p95,
        Target("<=", 2.0),
    )
    firsts, lasts, last_page = deep_paging(bench)
    count = bench.conn.execute("SELECT count(*) FROM calls_calllog").fetchone()[0]
    log(f"deep paging: page 1 {firsts}, page {last_page} {lasts}")
    bench.report.compare(
        6.4,
        f"6 /calls?limit=50 last page ({last_page:,}) vs page 1, {count:,} calls",
        ms(median(lasts)),
        f"page 1 {ms(median(firsts))}",
        median(lasts) / median(firsts),
        Target("<=", 2.0),
    )
