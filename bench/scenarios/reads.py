"""Scenario 6: reads at scale with 8 concurrent clients (closed loop: each client sends its
next request when the previous answer is in).

- GET /api/v1/contacts?limit=50 and GET /api/v1/calls?contact=<id> against the yardstick
  ``/bench/pk/<id>`` (a plain Django JsonResponse view doing one primary-key query, same
  server): throughput ≥ 60%; GET /api/v1/contacts?search=<surname start> (prefix hits) and
  GET /api/v1/contacts?search=<surname with a typo> (the typo fallback): ≥ 50%.
- Each search's p95 against the very SQL the app runs for its page (captured from the app's
  own selector with Django's query capture: the ranked page of ids, then those rows) run raw
  through psycopg by 8 threads: ≤ 2x.
- Deep paging, sequential: keyset paging of /calls (``?cursor=``, DRF's CursorPagination), the
  first page against a page near the oldest end of the 5M calls: ≤ 2x apart. The deep cursor
  is built as the app encodes one (signed with the app's key), from the ``started_at`` of a
  call near the oldest end, so no client walks 100,000 pages first. The OFFSET style
  (``?page=<last>``) against page 1 stays as an informational row.

Rounds interleave the endpoints; the throughput is the median over rounds, p50/p95 are over
every request of every round.
"""

import math
import random
import threading
import time
from datetime import UTC

import psycopg
from django.core import signing

from bench.app import django_json
from bench.client import api_client, closed_loop, timed_get
from bench.common import log, median, ms, percentile
from bench.data import search_fragments, typo_queries
from bench.report import Target

CLIENTS = 8


def _url_makers(bench, fragments: list[str], typos: list[str]) -> dict:
    ids = bench.data.contact_ids
    return {
        "pk": lambda rng: f"/bench/pk/{rng.choice(ids)}",
        "contacts": lambda rng: "/api/v1/contacts?limit=50",
        "search": lambda rng: f"/api/v1/contacts?search={rng.choice(fragments)}",
        "typo": lambda rng: f"/api/v1/contacts?search={rng.choice(typos)}",
        "calls": lambda rng: f"/api/v1/calls?contact={rng.choice(ids)}",
    }


def http_load(bench, make_url, seconds: float, seed: int):
    clients = [api_client(bench.base_url, bench.token) for _ in range(CLIENTS)]
    rngs = [random.Random(seed * 100 + i) for i in range(CLIENTS)]

    def request(client: int, n: int) -> float:
        took, response = timed_get(clients[client], make_url(rngs[client]))
        response.raise_for_status()  # an error answer is an error, not a fast request
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
        page = rngs[client].choice(statements)
        started = time.perf_counter()
        for sql in page:
            local.conn.execute(sql).fetchall()
        return time.perf_counter() - started

    try:
        return closed_loop(request, clients=CLIENTS, seconds=seconds)
    finally:
        for conn in connections:
            conn.close()


def app_search_sql(bench, queries: list[str]) -> list[list[str]]:
    """The SQL of the first page (limit 50) of GET /contacts?search=<query>, as the app runs
    it: its selector called in the frozen app under Django's query capture (the ranked page of
    ids with the total, the typo fallback's when it runs, then those contacts' rows), each
    statement with its parameters bound as psycopg sends them. The page's call summaries and
    DNC flags, which every list page has, are not part of it."""
    return django_json(
        bench.env,
        "import json\n"
        "from django.db import connection\n"
        "from django.test.utils import CaptureQueriesContext\n"
        "from contacts.selectors import contact_list, contact_search_page, "
        "contact_search_ranked\n"
        "out = []\n"
        f"for text in {queries!r}:\n"
        "    results = contact_search_page(contact_search_ranked(contact_list(), text), "
        "filtered=False)\n"
        "    with CaptureQueriesContext(connection) as captured:\n"
        "        results.page_and_total(0, 50)\n"
        "    out.append([q['sql'] for q in captured.captured_queries])\n"
        "print(json.dumps(out))",
    )


def deep_paging(bench) -> tuple[list[float], list[float], int]:
    """OFFSET paging: page 1 against the deepest page allowed (``?page=N``), sequential."""
    firsts, lasts = [], []
    # The API's count is the planner's estimate above 100k rows: the last page is taken from
    # the exact count, kept within the paginator's own page range and the OFFSET cap.
    exact = bench.conn.execute("SELECT count(*) FROM calls_calllog").fetchone()[0]
    with bench.api() as client:
        _, response = timed_get(client, "/api/v1/calls", params={"limit": 50})
        api_pages = max(1, math.ceil(response.json()["count"] / 50))
        # OFFSET pages stop at 10,000 rows (page 201 of 50); deeper is keyset's (400 past it).
        last_page = min(max(1, math.ceil(exact / 50)), api_pages, 10_000 // 50 + 1)
        refused = client.get("/api/v1/calls", params={"limit": 50, "page": last_page + 1})
        if exact > 10_000 + 50 and refused.status_code != 400:
            raise RuntimeError(f"a page past the OFFSET cap answered {refused.status_code}")
        estimated = response.headers.get("X-Count-Estimated", "false")
        _, response = timed_get(client, "/api/v1/calls", params={"limit": 50, "page": last_page})
        log(
            f"offset paging: count {exact:,} exact, API count estimated: {estimated}; "
            f"page {last_page:,} holds {len(response.json()['results'])} rows"
        )
        for _ in range(bench.profile.deep_reps):
            firsts.append(timed_get(client, "/api/v1/calls", params={"limit": 50})[0])
            lasts.append(
                timed_get(client, "/api/v1/calls", params={"limit": 50, "page": last_page})[0]
            )
    return firsts, lasts, last_page


KEYSET_REPS = 11
KEYSET_FROM_END = 60  # the deep page starts after the 60th-oldest call: ~59 calls remain


def keyset_cursor(position: str, secret_key: str) -> str:
    """A cursor as the app's KeysetPagination writes it for "continue after the row whose first
    ordering field is ``position``" (offset 0, forwards): DRF's tokens, signed with the app's
    key (crm/http/pagination.py; the harness knows the key, it set it)."""
    signer = signing.TimestampSigner(key=secret_key, salt="crm.keyset.v1", fallback_keys=[])
    return signer.sign_object({"p": position}, compress=True)


def keyset_paging(bench) -> tuple[list[float], list[float], int]:
    """Keyset paging: the first page (``?cursor=``) against a page near the oldest end."""
    # DRF's position is str() of the first ordering field (started_at) of the previous page's
    # last row: an aware datetime as Django returns it, in UTC.
    started_at, older = bench.conn.execute(
        "SELECT s, (SELECT count(*) FROM calls_calllog WHERE started_at < s) FROM "
        "(SELECT started_at AS s FROM calls_calllog ORDER BY started_at OFFSET %s LIMIT 1) t",
        [KEYSET_FROM_END - 1],
    ).fetchone()
    deep = {"limit": 50, "cursor": keyset_cursor(str(started_at.astimezone(UTC)), bench.secret_key)}
    first = {"limit": 50, "cursor": ""}
    firsts, deeps = [], []
    with bench.api() as client:
        _, response = timed_get(client, "/api/v1/calls", params=first)  # warm-up
        body = response.json()
        if "count" in body or len(body["results"]) != 50 or not body.get("next"):
            raise RuntimeError(f"?cursor= did not start keyset paging: {sorted(body)}")
        _, response = timed_get(client, "/api/v1/calls", params=deep)  # warm-up
        results = response.json()["results"]
        log(
            f"keyset paging: deep cursor after started_at {started_at.astimezone(UTC)} "
            f"({older} calls older): {len(results)} results"
        )
        if len(results) != 50:
            raise RuntimeError(f"the deep keyset page returned {len(results)} results, not 50")
        for _ in range(KEYSET_REPS):
            firsts.append(timed_get(client, "/api/v1/calls", params=first)[0])
            deeps.append(timed_get(client, "/api/v1/calls", params=deep)[0])
    return firsts, deeps, older


def run(bench) -> None:
    profile = bench.profile
    fragments = search_fragments(20)
    typos = typo_queries(20)
    makers = _url_makers(bench, fragments, typos)
    raw = {
        "raw search": app_search_sql(bench, fragments),
        "raw typo": app_search_sql(bench, typos),
    }
    log(f"search queries: {fragments}; typos: {typos}")
    results: dict[str, list] = {name: [] for name in [*makers, *raw]}
    for round_ in range(profile.read_rounds):
        for name, make_url in makers.items():
            if round_ == 0:
                http_load(bench, make_url, 0.5, seed=99)  # warm-up
            result = http_load(bench, make_url, profile.read_seconds, seed=round_)
            if result.errors:
                raise RuntimeError(f"{name}: {result.errors} errors, e.g. {result.first_error}")
            results[name].append(result)
        for name, statements in raw.items():
            if round_ == 0:
                raw_search_load(bench, statements, 0.5, seed=99)
            results[name].append(raw_search_load(bench, statements, profile.read_seconds, 1))

    def throughput(name: str) -> float:
        return median([r.throughput for r in results[name]])

    def latencies(name: str) -> list[float]:
        return [t for r in results[name] for t in r.latencies]

    def rounds(name: str) -> str:
        return "/".join(f"{r.throughput:,.0f}" for r in results[name])

    for name, values in results.items():
        log(
            f"{name}: {[round(r.throughput) for r in values]} req/s, "
            f"p50 {ms(percentile(latencies(name), 50))}, p95 {ms(percentile(latencies(name), 95))}"
        )

    pk = throughput("pk")
    size = f"{bench.data.contacts:,} contacts"
    labels = {
        "contacts": ("GET /contacts?limit=50", 0.60),
        "search": ("GET /contacts?search=<start of a surname> (prefix hits)", 0.50),
        "typo": ("GET /contacts?search=<surname with a typo> (typo fallback)", 0.50),
        "calls": ("GET /calls?contact=<id>", 0.60),
    }
    for offset, (name, (label, target)) in enumerate(labels.items()):
        lat = latencies(name)
        ratios = "/".join(
            f"{r.throughput / p.throughput:.0%}"
            for r, p in zip(results[name], results["pk"], strict=True)
        )
        bench.report.compare(
            6.0 + offset / 100,
            f"6 {label}, {CLIENTS} clients, {size}",
            f"{throughput(name):,.0f} req/s median of rounds {rounds(name)} (p50 "
            f"{ms(percentile(lat, 50))}, p95 {ms(percentile(lat, 95))}; per round {ratios})",
            f"pk view {pk:,.0f} req/s ({rounds('pk')}; p50 {ms(percentile(latencies('pk'), 50))})",
            throughput(name) / pk,
            Target(">=", target, percent=True),
        )
    for offset, (name, floor, label) in enumerate(
        [("search", "raw search", "prefix hits"), ("typo", "raw typo", "typo fallback")]
    ):
        app_p95 = percentile(latencies(name), 95)
        raw_p95 = percentile(latencies(floor), 95)
        bench.report.compare(
            6.1 + offset / 100,
            f"6 search p95 ({label}) vs the same SQL raw, {CLIENTS} clients",
            ms(app_p95),
            f"psycopg p95 {ms(raw_p95)} ({throughput(floor):,.0f} q/s)",
            app_p95 / raw_p95,
            Target("<=", 2.0),
        )
    count = bench.conn.execute("SELECT count(*) FROM calls_calllog").fetchone()[0]
    firsts, deeps, older = keyset_paging(bench)
    log(f"keyset paging: first page {firsts}, deep page {deeps}")
    bench.report.compare(
        6.4,
        f"6 /calls?cursor=&limit=50 keyset: page near the end vs first page, {count:,} calls",
        f"{ms(median(deeps))} ({older} calls older)",
        f"first keyset page {ms(median(firsts))}",
        median(deeps) / median(firsts),
        Target("<=", 2.0),
    )
    firsts, lasts, last_page = deep_paging(bench)
    log(f"offset paging: page 1 {firsts}, page {last_page} {lasts}")
    bench.report.info(
        6.5,
        f"6 /calls?limit=50 OFFSET page {last_page:,} (the deepest allowed) vs page 1, "
        f"{count:,} calls",
        ms(median(lasts)),
        f"page 1 {ms(median(firsts))}",
        f"{median(lasts) / median(firsts):.2f}x",
    )
