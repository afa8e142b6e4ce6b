"""Scenario 5: contacts import.

(a) ``manage.py import_contacts FILE.csv`` (columns name, phone, created_at; phones in mixed
formats) into a fresh database, timed as the operator sees it (the whole command), against
raw psycopg COPY of the same file into another fresh database: the CSV read, each row turned
into a full contacts_contact row (id, search key, a naive "+1 + last ten digits" for E.164,
no validation, no dedupe) and COPYed with the table's indexes in place.

(b) The same file through an import job: ``POST /api/v1/imports`` (multipart, kind=contacts)
into a fresh database, worked by a ``manage.py worker`` process that the harness starts for
it, timed from the start of the POST until ``GET /api/v1/imports/{id}`` (polled every 0.2 s)
says ``succeeded``; the job's own ``started_at`` -> ``finished_at`` is shown beside it. The
fresh database gets its own gunicorn (one worker) and its own worker process, both with the
env of the main server but its DATABASE_URL, started before the clock and stopped after it
(so the main database keeps its size). The floor is (a)'s raw COPY of the same file, measured
in the same run (measured here when (a) did not run).

(c) The django-import-export admin import of a CSV: the preview POST (file upload, checked
and rolled back) and the confirm POST, through the real admin views with a logged-in staff
session. The imported contacts are deleted afterwards, so later scenarios keep their size.

Each part prints "not run" with the reason when the command or the admin import is missing.
"""

import csv
import random
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx

from bench.app import Gunicorn, Worker
from bench.client import api_client, login
from bench.common import WORK, log, median, rate
from bench.data import (
    ADMIN_IMPORT_BASE,
    CONTACT_COLUMNS,
    IMPORT_BASE,
    NOW,
    copy_rows,
    name_pools,
    phone_as_entered,
    phone_e164,
    uuid4_str,
)
from bench.pg import free_port
from bench.report import Target
from contacts.text import search_key

COMMAND = Path("contacts/management/commands/import_contacts.py")
IMPORT_DB, COPY_DB, JOB_DB = "bench_import", "bench_copy", "bench_import_job"
COMMAND_TIMEOUT = 1800  # seconds; a slower import is reported as an error, not waited for
POLL_SECONDS = 0.2


def write_csv(path: Path, rows: int, base: int) -> list[str]:
    """A CSV the way a person exports one; returns the E.164 numbers it holds."""
    firsts, lasts = name_pools()
    rng = random.Random(base)
    numbers = []
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "phone", "created_at"])
        for i in range(rows):
            e164 = phone_e164(base + i)
            numbers.append(e164)
            created = NOW - timedelta(seconds=rng.randrange(3 * 365 * 86_400))
            writer.writerow(
                [
                    f"{rng.choice(firsts)} {rng.choice(lasts)}",
                    phone_as_entered(e164, i),
                    created.isoformat().replace("+00:00", "Z"),
                ]
            )
    return numbers


def raw_copy(conn, path: Path, owner: str) -> float:
    rng = random.Random(5)
    non_digits = re.compile(r"\D")
    started = time.perf_counter()
    with conn.transaction(), path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        version = conn.execute(
            "UPDATE ledger_changefeed SET version = version + 1 WHERE name = 'contacts' "
            "RETURNING version"
        ).fetchone()[0]
        now = datetime.now().astimezone()
        rows = (
            (
                uuid4_str(rng),
                name,
                search_key(name),
                phone,
                "+1" + non_digits.sub("", phone)[-10:],
                owner,
                datetime.fromisoformat(created_at),
                now,
                version,
                None,
            )
            for name, phone, created_at in reader
        )
        copy_rows(conn, "contacts_contact", CONTACT_COLUMNS, rows)
    return time.perf_counter() - started


def import_file(bench) -> Path:
    """The CSV of (a) and (b), written once per run."""
    rows = bench.profile.import_rows
    path = WORK / f"import-{rows}.csv"
    if bench.shared.get("import_file") != path:
        write_csv(path, rows, IMPORT_BASE)
        bench.shared["import_file"] = path
    return path


def drop_database(bench, dbname: str) -> None:
    with bench.pg.connect("postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')


def copy_floor(bench, path: Path) -> list[float]:
    """Raw COPY of ``path`` into a fresh database: the times (a) measured, or one run now."""
    if bench.shared.get("import_copy", (None, None))[0] == path:
        return bench.shared["import_copy"][1]
    bench.fresh_database(COPY_DB)
    with bench.pg.connect(COPY_DB, autocommit=True) as conn:
        raws = [raw_copy(conn, path, bench.data.admin_id)]
    drop_database(bench, COPY_DB)
    bench.shared["import_copy"] = (path, raws)
    return raws


def count_contacts(bench, dbname: str) -> int:
    with bench.pg.connect(dbname, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM contacts_contact").fetchone()[0]


def run_command(bench) -> None:
    order, name = 5.0, f"5 manage.py import_contacts {bench.profile.import_rows:,} CSV rows"
    if not (bench.app_dir / COMMAND).exists():
        bench.report.not_run(order, name, "command missing", "≥ 20% of raw COPY")
        return
    from bench.app import manage

    rows = bench.profile.import_rows
    path = import_file(bench)
    ours, raws = [], []
    for _ in range(bench.profile.import_reps):
        bench.fresh_database(IMPORT_DB)
        started = time.perf_counter()
        manage(
            bench.env_for(IMPORT_DB),
            "import_contacts",
            str(path),
            "--verbosity",
            "0",
            timeout=COMMAND_TIMEOUT,
        )
        ours.append(time.perf_counter() - started)
        imported = count_contacts(bench, IMPORT_DB)
        if imported != rows:
            raise RuntimeError(f"import_contacts stored {imported} of {rows} rows")
        bench.fresh_database(COPY_DB)
        with bench.pg.connect(COPY_DB, autocommit=True) as conn:
            raws.append(raw_copy(conn, path, bench.data.admin_id))
    for dbname in (IMPORT_DB, COPY_DB):
        drop_database(bench, dbname)
    bench.shared["import_copy"] = (path, raws)
    log(f"import_contacts: {ours} s, raw COPY {raws} s")
    ours_rate, raw_rate = rows / median(ours), rows / median(raws)
    bench.report.compare(
        order,
        name,
        f"{rate(ours_rate)} ({median(ours):.1f} s, {len(ours)} run{'s' if len(ours) > 1 else ''})",
        f"raw COPY {rate(raw_rate)}",
        ours_rate / raw_rate,
        Target(">=", 0.20, percent=True),
    )


def job_import(
    base_url: str,
    token: str,
    path: Path,
    data: dict | None = None,
    *,
    timeout: float = COMMAND_TIMEOUT,
    slow_poll_after: float | None = None,
    relogin: Callable[[], str] | None = None,
) -> tuple[float, dict]:
    """Upload ``path`` as an import job (``data``: the form's other fields; default a
    contacts import) and poll it to its end: (seconds from the start of the POST until the
    job read back finished, the job as last read). Polled every 0.2 s; after
    ``slow_poll_after`` seconds, if given, every second (a job of many minutes is then not
    slowed by its own observer, and its figure is still within a second). Access tokens live
    15 minutes: with ``relogin`` (a new token), a poll answered 401 logs in again, as a client
    would refresh its token."""
    content = path.read_bytes()
    with api_client(base_url, token) as client:
        started = time.perf_counter()
        response = client.post(
            "/api/v1/imports",
            data=data or {"kind": "contacts"},
            files={"file": (path.name, content, "text/csv")},
        )
        if response.status_code != 202:
            raise RuntimeError(f"POST /imports -> {response.status_code}: {response.text[:300]}")
        job = response.json()
        while job["status"] in ("pending", "running"):
            waited = time.perf_counter() - started
            if waited > timeout:
                raise RuntimeError(f"the import job was still {job['status']} after {timeout} s")
            slow = slow_poll_after is not None and waited > slow_poll_after
            time.sleep(1.0 if slow else POLL_SECONDS)
            response = client.get(f"/api/v1/imports/{job['id']}")
            if response.status_code == 401 and relogin is not None:
                client.headers["Authorization"] = f"Bearer {relogin()}"
                response = client.get(f"/api/v1/imports/{job['id']}")
            response.raise_for_status()
            job = response.json()
        return time.perf_counter() - started, job


def job_seconds(job: dict) -> float:
    started, finished = (datetime.fromisoformat(job[k]) for k in ("started_at", "finished_at"))
    return (finished - started).total_seconds()


def run_job(bench) -> None:
    rows = bench.profile.import_rows
    order, name = 5.05, f"5 import job (POST /imports -> succeeded) {rows:,} CSV rows"
    if not (bench.app_dir / "jobs" / "management" / "commands" / "worker.py").exists():
        bench.report.not_run(order, name, "no manage.py worker", "≥ 20% of raw COPY")
        return
    path = import_file(bench)
    ours, inside = [], []
    try:
        for _ in range(bench.profile.import_reps):
            bench.fresh_database(JOB_DB)
            env = bench.env_for(JOB_DB)
            with (
                Worker(env, bench.pg.url(JOB_DB), log_name="worker-import") as worker,
                Gunicorn(env, free_port(), 1, log_name="gunicorn-import") as server,
            ):
                token = login(server.base_url, bench.admin_email, bench.admin_password)
                took, job = job_import(server.base_url, token, path)
                log(
                    f"import job {job['id']}: {job['status']} in {took:.1f} s (worker pid "
                    f"{worker.process.pid}); created {job['created']}, existing "
                    f"{job['existing']}, invalid {job['invalid']}, error {job['error']!r}"
                )
            if job["status"] != "succeeded":
                raise RuntimeError(f"the import job {job['status']}: {job['error'][:100]}")
            imported = count_contacts(bench, JOB_DB)
            if imported != rows or job["created"] != rows:
                raise RuntimeError(
                    f"the import job stored {imported} of {rows} rows (says {job['created']})"
                )
            ours.append(took)
            inside.append(job_seconds(job))
    finally:
        drop_database(bench, JOB_DB)
    raws = copy_floor(bench, path)
    log(f"import job: {ours} s (job started -> finished {inside} s), raw COPY {raws} s")
    ours_rate, raw_rate = rows / median(ours), rows / median(raws)
    runs = f"{len(ours)} run{'s' if len(ours) > 1 else ''}"
    bench.report.compare(
        order,
        name,
        f"{rate(ours_rate)} ({median(ours):.1f} s; job started -> finished "
        f"{median(inside):.1f} s; {runs})",
        f"raw COPY {rate(raw_rate)}",
        ours_rate / raw_rate,
        Target(">=", 0.20, percent=True),
    )


class _Forms(HTMLParser):
    """Collects each form's action, inputs and selects (with their options)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self._option: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "inputs": {}, "selects": {}})
        elif not self.forms:
            return
        elif tag == "input" and attrs.get("name"):
            self.forms[-1]["inputs"][attrs["name"]] = attrs.get("value", "")
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
            self.forms[-1]["selects"][self._select] = []
        elif tag == "option" and self._select:
            self._option = {"value": attrs.get("value", ""), "text": ""}
            self.forms[-1]["selects"][self._select].append(self._option)

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "option":
            self._option = None


def _forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class AdminSession:
    """A browser behind the production TLS proxy: X-Forwarded-Proto https, an Origin header
    for CSRF, and the Secure session/CSRF cookies sent by hand (httpx rightly keeps Secure
    cookies off a plain-http connection)."""

    def __init__(self, base_url: str):
        origin = base_url.replace("http://", "https://")
        self.http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(900.0),
            headers={"X-Forwarded-Proto": "https", "Origin": origin, "Referer": origin + "/"},
        )
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        response = self.http.request(method, url, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            name, _, value = header.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        self.http.cookies.clear()
        return response

    def login(self, email: str, password: str) -> None:
        page = self.request("GET", "/admin/login/")
        token = _forms(page.text)[0]["inputs"]["csrfmiddlewaretoken"]
        response = self.request(
            "POST",
            "/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": token, "username": email, "password": password},
        )
        if response.status_code != 302:
            raise RuntimeError(f"admin login failed: {response.status_code}")

    def close(self) -> None:
        self.http.close()


def admin_import(session: AdminSession, path: Path) -> tuple[float, float]:
    """Upload + preview, then confirm: (preview seconds, confirm seconds)."""
    page = session.request("GET", "/admin/contacts/contact/import/")
    form = next(f for f in _forms(page.text) if "import_file" in f["inputs"])
    fields = {k: v for k, v in form["inputs"].items() if k != "import_file"}
    for select, options in form["selects"].items():
        chosen = next((o for o in options if "csv" in o["text"].lower()), None)
        fields[select] = (chosen or options[-1])["value"]
    with path.open("rb") as f:
        content = f.read()
    started = time.perf_counter()
    preview = session.request(
        "POST",
        "/admin/contacts/contact/import/",
        data=fields,
        files={"import_file": (path.name, content, "text/csv")},
    )
    preview_took = time.perf_counter() - started
    if preview.status_code == 302 and "/jobs/" in preview.headers.get("location", ""):
        raise RuntimeError(
            "the admin handed the file to an import job (more than ADMIN_IMPORT_JOB_ROWS rows)"
        )
    confirm = [f for f in _forms(preview.text) if "process_import" in f["action"]]
    if preview.status_code != 200 or not confirm:
        raise RuntimeError(f"admin import preview: {preview.status_code}, no confirm form")
    started = time.perf_counter()
    done = session.request("POST", confirm[0]["action"], data=confirm[0]["inputs"])
    confirm_took = time.perf_counter() - started
    if done.status_code != 302:
        raise RuntimeError(f"admin import confirm: {done.status_code}")
    return preview_took, confirm_took


def run_admin(bench) -> None:
    rows = bench.profile.admin_import_rows
    order, name = 5.1, f"5 admin import (django-import-export) {rows:,} rows"
    session = AdminSession(bench.base_url)
    try:
        session.login(bench.admin_email, bench.admin_password)
        probe = session.request("GET", "/admin/contacts/contact/import/")
        if probe.status_code != 200:
            bench.report.not_run(
                order, name, f"admin import missing ({probe.status_code})", "≥ 2,000 rows/s"
            )
            return
        path = WORK / f"admin-import-{rows}.csv"
        numbers = write_csv(path, rows, ADMIN_IMPORT_BASE)
        totals, previews = [], []
        for _ in range(bench.profile.import_reps):
            try:
                preview, confirm = admin_import(session, path)
                stored = bench.conn.execute(
                    "SELECT count(*) FROM contacts_contact WHERE phone_normalized = ANY(%s)",
                    [numbers],
                ).fetchone()[0]
                if stored != rows:
                    raise RuntimeError(f"the admin import stored {stored} of {rows} rows")
            finally:
                # The rows the import made, with their search words (contacts/searchindex.py).
                bench.conn.execute(
                    "DELETE FROM contacts_contactword WHERE contact_id IN (SELECT id FROM "
                    "contacts_contact WHERE phone_normalized = ANY(%s))",
                    [numbers],
                )
                bench.conn.execute(
                    "DELETE FROM contacts_contact WHERE phone_normalized = ANY(%s)", [numbers]
                )
            previews.append(preview)
            totals.append(preview + confirm)
        bench.conn.execute("VACUUM (ANALYZE) contacts_contact")
    finally:
        session.close()
    log(f"admin import: preview {previews} s, preview+confirm {totals} s")
    figure = rows / median(totals)
    bench.report.compare(
        order,
        name,
        f"{rate(figure)} ({median(totals):.1f} s: preview {median(previews):.1f} s + confirm)",
        "target 2,000 rows/s",
        figure / 2000,
        Target(">=", 1.0, label="≥ 2,000 rows/s"),
    )
