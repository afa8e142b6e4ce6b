from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from crm.db.pgtools import pg_run


class Command(BaseCommand):
    help = (
        "Restore a pg_dump -Fc backup over the configured database, in one transaction, then "
        "reset sync cursors so every phone does a full sync (their cursors may point past "
        "what the backup holds)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="A file written by `manage.py backup`")
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask before replacing the database."
        )

    def handle(self, *args, path, yes=False, **options):
        source = Path(path)
        if not source.is_file():
            raise CommandError(f"{source} does not exist")
        if not yes and options.get("interactive", True):
            answer = input("This replaces every row of the database. Type 'yes' to go on: ")
            if answer.strip() != "yes":
                raise CommandError("Restore cancelled.")
        connections.close_all()
        pg_run(
            "pg_restore",
            ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(source)],
        )
        call_command("reset_sync_cursors", verbosity=0)
        self.stdout.write(f"Restored {source}; sync cursors were reset.")
