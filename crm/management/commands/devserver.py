"""`make run`: migrate, say which database this is, start a background worker, then the ASGI
development server (uvicorn, reloading on code changes; the worker stops with it). It serves
what production serves, event streams included."""

import atexit
import os
import subprocess
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from crm.db.embedded import DEV_DATA, dev_database_url


def _source_dirs() -> list[str]:
    """The packages and templates (not the database's files, the venv or uploads)."""
    base = settings.BASE_DIR
    return sorted(
        str(path)
        for path in base.iterdir()
        if (path / "__init__.py").exists() or path.name == "templates"
    )


class Command(BaseCommand):
    help = "Migrate the database, print where it is, and run the development server."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        import uvicorn

        call_command("migrate", interactive=False, verbosity=1)
        self.stdout.write(self._banner(addrport))
        self._start_worker()
        host, _, port = addrport.rpartition(":")
        # The reloader runs the server in a child process and restarts it when a .py file
        # changes; migrate, the banner and the worker belong to this process only.
        uvicorn.run(
            "crm.asgi:application",
            host=host or "127.0.0.1",
            port=int(port),
            reload=True,
            reload_dirs=_source_dirs(),
            lifespan="off",
            log_level="info",
        )

    def _start_worker(self) -> None:
        """One worker beside the server, in its own process, stopped when this one ends."""
        worker = subprocess.Popen([sys.executable, "manage.py", "worker"], cwd=settings.BASE_DIR)

        def stop():
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()

        atexit.register(stop)

    def _banner(self, addrport: str) -> str:
        db = settings.DATABASES["default"]
        major, rest = divmod(connection.pg_version, 10000)
        where = f"{db.get('HOST') or 'local socket'}:{db.get('PORT') or 5432}/{db['NAME']}"
        if os.environ.get("DATABASE_URL", dev_database_url()) == dev_database_url():
            origin = f"embedded; data in {DEV_DATA}; make db-reset empties it"
        else:
            origin = "the server DATABASE_URL names"
        base = f"http://{addrport}"
        lines = [
            "",
            f"  Database: PostgreSQL {major}.{rest} at {where} ({origin})",
            f"  Server:   {base}/   admin: {base}/admin/   API docs: {base}/api/v1/docs",
            "  Worker:   one background worker (jobs, periodic upkeep) runs beside it",
        ]
        if not get_user_model().objects.filter(is_superuser=True).exists():
            lines.append("  No admin yet: run `make superuser` in another terminal.")
        return "\n".join([*lines, ""])
