"""Running PostgreSQL's client tools (pg_dump, pg_restore) against the configured database."""

import glob
import os
import shutil
import subprocess

from django.core.management.base import CommandError
from django.db import connections


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise CommandError(f"{name} not found; install PostgreSQL's client tools (postgresql-client)")


def pg_run(tool: str, args: list[str], *, alias: str = "default") -> None:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        raise CommandError("Backups are for PostgreSQL; copy the SQLite file to back it up.")
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}
    conn_args = ["--dbname", db["NAME"], "--username", db.get("USER") or "postgres"]
    if db.get("HOST"):
        conn_args += ["--host", db["HOST"]]
    if db.get("PORT"):
        conn_args += ["--port", str(db["PORT"])]
    result = subprocess.run(  # noqa: S603 - fixed tool path, arguments are not shell-parsed
        [pg_tool(tool), *conn_args, *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise CommandError(f"{tool} failed: {result.stderr.strip()}")
