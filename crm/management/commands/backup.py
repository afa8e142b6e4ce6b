from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand

from crm.db.pgtools import pg_run


class Command(BaseCommand):
    help = "Back up the PostgreSQL database with pg_dump's custom format (-Fc)."

    def add_arguments(self, parser):
        parser.add_argument(
            "path",
            nargs="?",
            help="Output file (default: backups/crm-<UTC timestamp>.dump)",
        )

    def handle(self, *args, path=None, **options):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = Path(path or f"backups/crm-{stamp}.dump")
        target.parent.mkdir(parents=True, exist_ok=True)
        pg_run("pg_dump", ["--format=custom", "--no-owner", "--file", str(target)])
        self.stdout.write(f"Backed up to {target} ({target.stat().st_size:,} bytes)")
