"""The benchmark run: one PostgreSQL cluster, one gunicorn, the scenarios in a fixed order,
one table at the end."""

import secrets
import traceback
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

from bench import data
from bench.app import (
    Gunicorn,
    app_env,
    django_json,
    finish,
    manage,
    manage_background,
    new_secret_key,
)
from bench.client import api_client, login
from bench.common import WORK, elapsed, log
from bench.pg import Cluster, free_port
from bench.profiles import Profile
from bench.report import Report

TEMPLATE_DB = "bench_template"  # migrated, users created, no data: copied for each database
MAIN_DB = "bench"
ADMIN_EMAIL = "bench-admin@bench.example"


class Bench:
    """Everything a scenario needs: the profile, the database, the server, the data."""

    def __init__(self, profile: Profile, cluster: Cluster, workers: int, app_dir: Path):
        self.profile = profile
        self.pg = cluster
        self.workers = workers
        self.report = Report()
        self.secret_key = new_secret_key()
        self.admin_password = secrets.token_urlsafe(16)
        self.admin_email = ADMIN_EMAIL
        self.app_dir = app_dir
        self.env = app_env(cluster.url(MAIN_DB), secret_key=self.secret_key, app_dir=app_dir)
        self.server: Gunicorn | None = None
        self.data: data.Dataset | None = None
        self.conn: psycopg.Connection | None = None
        self.token = ""
        self.shared: dict = {}  # figures one scenario measures and another compares with

    # --- set-up ----------------------------------------------------------------------------

    def prepare_template(self) -> None:
        self.pg.create_database(TEMPLATE_DB)
        env = self.env_for(TEMPLATE_DB)
        manage(env, "migrate", "--noinput")
        log("migrated")
        users = django_json(
            env,
            "import json\n"
            "from accounts.models import Role, User\n"
            f"admin = User.objects.create_user(email={self.admin_email!r}, "
            f"password={self.admin_password!r}, name='Bench Admin', role=Role.ADMIN)\n"
            "agents = [User.objects.create_user(email=f'agent{i:02d}@bench.example', "
            "password=None, name=f'Agent {i:02d}') for i in range(10)]\n"
            "print(json.dumps({'admin': str(admin.pk), 'agents': [str(a.pk) for a in agents]}))",
        )
        self.data = data.Dataset(users["admin"], users["agents"])

    def env_for(self, dbname: str) -> dict:
        return {**self.env, "DATABASE_URL": self.pg.url(dbname)}

    def fresh_database(self, name: str) -> None:
        """A new database as migrated, with the bench users and no data."""
        self.pg.create_database(name, template=TEMPLATE_DB)

    def grow(self, contacts: int, calls: int) -> None:
        """Load rows until the main database holds ``contacts`` contacts and ``calls`` calls."""
        count = self.conn.execute("SELECT count(*) FROM calls_calllog").fetchone()[0]
        add_contacts, add_calls = contacts - self.data.contacts, calls - count
        if add_contacts <= 0 and add_calls <= 0:
            return
        log(f"loading {max(add_contacts, 0):,} contacts and {max(add_calls, 0):,} calls ...")
        if add_contacts > 0:
            data.load_contacts(self.conn, self.data, add_contacts)
        if add_calls > 0:
            data.load_calls(self.conn, self.data, add_calls)
        data.vacuum_analyze(self.conn, "contacts_contact", "contacts_contactword", "calls_calllog")
        log(f"loaded: {self.data.contacts:,} contacts, {calls:,} calls")

    # --- helpers for scenarios -------------------------------------------------------------

    @property
    def db_url(self) -> str:
        return self.pg.url(MAIN_DB)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def api(self) -> httpx.Client:
        return api_client(self.base_url, self.token)

    def mint_cursor(self, feed: str, version: int) -> str:
        """The cursor a phone holds once it has read ``feed`` up to ``version``, encoded by
        the app's own code (so no phone has to page through a million rows first)."""
        epoch = self.conn.execute(
            "SELECT epoch FROM ledger_changefeed WHERE name = %s", [feed]
        ).fetchone()[0]
        return django_json(
            self.env,
            "import json\nfrom syncaudit.cursors import Cursor\n"
            f"print(json.dumps(Cursor({feed!r}, {epoch}, {version}).encode()))",
        )

    def attempt(self, order: float, name: str, scenario: Callable[["Bench"], None]) -> None:
        """Run one scenario; a crash becomes a "not run" row with the reason, and the run
        goes on with the next scenario."""
        log(f"scenario {name} ...")
        try:
            # Access tokens live 15 minutes (JWT_ACCESS_MINUTES): a fresh one per scenario, as a
            # phone would refresh its own.
            self.token = login(self.base_url, self.admin_email, self.admin_password)
            scenario(self)
        except Exception as exc:
            traceback.print_exc()
            self.report.not_run(order, name, f"error: {type(exc).__name__}: {exc}"[:160])
        log(f"scenario {name} done")


def run(
    profile: Profile, workers: int, app_dir: Path, watch, only: set[str] | None = None
) -> Report:
    from bench.scenarios import (
        bulk,
        carddav,
        dashboard,
        delta,
        dnc,
        events,
        exports,
        imports,
        initial_sync,
        login_cost,
        reads,
        upload,
    )

    WORK.mkdir(parents=True, exist_ok=True)
    with Cluster() as cluster:
        log(f"PostgreSQL {cluster.version()} on port {cluster.port} ({cluster.root})")
        watch.add_root(cluster.postmaster_pid())
        bench = Bench(profile, cluster, workers, app_dir)
        bench.prepare_template()
        bench.fresh_database(MAIN_DB)
        with cluster.connect(MAIN_DB, autocommit=True) as conn:
            bench.conn = conn
            # The admin pages need the static files manifest (DEBUG is off): collect them
            # while the data loads.
            static = manage_background(bench.env, "collectstatic", "--noinput")
            bench.grow(profile.base_contacts, profile.base_calls)
            finish(static)
            with Gunicorn(bench.env, free_port(), workers) as server:
                bench.server = server

                def want(key: str) -> bool:
                    return only is None or key in only

                # Scenarios 1-3, 5, 7, 8 and 12 at the base size (20,000 contacts), then 6, 9, 4
                # and 10 at the read size, then 3 again at the big size. The table is sorted
                # by number.
                for key, order, name, step in [
                    ("1", 1, "1 initial sync", initial_sync.run),
                    ("3", 3, "3 delta sync (small)", delta.run_small),
                    ("2", 2, "2 CardDAV (Radicale)", carddav.run),
                    ("5", 5, "5 import_contacts", imports.run_command),
                    ("5", 5.05, "5 import job", imports.run_job),
                    ("5", 5.1, "5 admin import", imports.run_admin),
                    ("7", 7, "7 login", login_cost.run),
                    ("8", 8, "8 bulk operation", bulk.run),
                    ("12", 12, "12 real time", events.run),
                ]:
                    if want(key):
                        bench.attempt(order, name, step)
                if want("6") or want("4") or want("9") or want("11"):
                    bench.grow(profile.reads_contacts, profile.reads_calls)
                elif want("10"):  # the export reads contacts only: no calls to load for it
                    bench.grow(profile.reads_contacts, 0)
                if want("6"):
                    bench.attempt(6, "6 reads", reads.run)
                if want("9"):
                    bench.attempt(9, "9 do-not-call", dnc.run)
                    # Into fresh databases of their own: the main database keeps its size.
                    bench.attempt(9.2, "9 DNC import job", dnc.run_import)
                if want("4"):
                    bench.attempt(4, "4 call upload", upload.run)
                if want("10"):
                    bench.attempt(10, "10 exports", exports.run)
                if want("11"):
                    bench.attempt(11, "11 dashboard", dashboard.run)
                if want("3"):
                    bench.grow(profile.delta_contacts, 0)
                    bench.attempt(3, "3 delta sync (big)", delta.run_big)
    log(f"finished in {elapsed():.0f} s")
    return bench.report
