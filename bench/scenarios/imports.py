"""Scenario 5: contacts import.

(a) ``manage.py import_contacts FILE.csv`` (columns name, phone, created_at; phones in mixed
formats) into a fresh database, timed as the operator sees it (the whole command), against
raw psycopg COPY of the same file into another fresh database: the CSV read, each row turned
into a full contacts_contact row (id, search key, a naive "+1 + last ten digits" for E.164,
no validation, no dedupe) and COPYed with the table's indexes in place.

(b) The django-import-export admin import of a CSV: the preview POST (file upload, checked
and rolled back) and the confirm POST, through the real admin views with a logged-in staff
session. The imported contacts are deleted afterwards, so later scenarios keep their size.

Each part prints "not run" with the reason when the command or the admin import is missing.
"""

import csv
import random
import re
import time
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx

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
from bench.report import Target
from contacts.text import search_key

COMMAND = Path("contacts/management/commands/import_contacts.py")
IMPORT_DB, COPY_DB = "bench_import", "bench_copy"
COMMAND_TIMEOUT = 1800  # seconds; a slower import is reported as an error, not waited for


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
    path = WORK / f"import-{rows}.csv"
    write_csv(path, rows, IMPORT_BASE)
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
        with bench.pg.connect("postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
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
