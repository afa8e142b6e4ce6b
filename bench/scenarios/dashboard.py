"""Scenario 11: the back office's dashboard at the read size (1M contacts, 5M calls; quick:
20k / 100k). ``GET /admin/dashboard/?days=30`` with a signed-in staff session (the whole
page: session, user, the six widgets, the template and its SVG charts) against the same
widgets' SQL run raw through psycopg, one after another, in the same run. The SQL is the
app's own: the dashboard's selectors run under Django's query capture in the frozen app,
so the floor is exactly what the page asks PostgreSQL. Target: the page within 2x.
"""

import time

from bench.app import django_json
from bench.common import log, median, ms
from bench.report import Target
from bench.scenarios.imports import AdminSession

DAYS = 30
REPS = 9
WARMUP = 2

_CAPTURE = (
    "import json\n"
    "from django.db import connection\n"
    "from django.test.utils import CaptureQueriesContext\n"
    "from django.utils import timezone\n"
    "from dashboard import selectors\n"
    f"span = selectors.span_of(days={DAYS})\n"
    "with CaptureQueriesContext(connection) as captured:\n"
    "    selectors.calls_widget(span)\n"
    "    selectors.new_contacts_per_day(span)\n"
    "    selectors.devices_to_look_at(now=timezone.now())\n"
    "    selectors.sync_health(span)\n"
    "    selectors.imports_in_progress()\n"
    "    selectors.dnc_hits(span)\n"
    "print(json.dumps([query['sql'] for query in captured.captured_queries]))"
)


def _raw(bench, statements: list[str]) -> float:
    started = time.perf_counter()
    for sql in statements:
        bench.conn.execute(sql).fetchall()
    return time.perf_counter() - started


def _page(session: AdminSession) -> float:
    started = time.perf_counter()
    response = session.request("GET", f"/admin/dashboard/?days={DAYS}")
    took = time.perf_counter() - started
    if response.status_code != 200 or "widget-calls" not in response.text:
        raise RuntimeError(f"dashboard: {response.status_code}")
    return took


def run(bench) -> None:
    order, name = 11, f"11 dashboard, last {DAYS} days (GET /admin/dashboard/)"
    statements = django_json(bench.env, _CAPTURE)
    log(f"dashboard: {len(statements)} widget queries captured")
    session = AdminSession(bench.base_url)
    try:
        session.login(bench.admin_email, bench.admin_password)
        pages, raws = [], []
        for rep in range(REPS + WARMUP):
            page, raw = _page(session), _raw(bench, statements)
            if rep >= WARMUP:
                pages.append(page)
                raws.append(raw)
    finally:
        session.close()
    shown = [round(p * 1000) for p in pages], [round(r * 1000) for r in raws]
    log(f"dashboard: page {shown[0]} ms, raw {shown[1]} ms")
    page, raw = median(pages), median(raws)
    bench.report.compare(
        order, name, ms(page), f"its {len(statements)} queries raw {ms(raw)}", page / raw,
        Target("<=", 2.0),
    )  # fmt: skip
