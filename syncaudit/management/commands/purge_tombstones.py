from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from syncaudit.services import sync_purge_tombstones


class Command(BaseCommand):
    help = (
        "Remove contact tombstones (soft-deleted contacts) older than the horizon. Phones whose "
        "cursor is older than the newest purged tombstone get 410 cursor_expired and resync."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.SYNC_TOMBSTONE_HORIZON_DAYS,
            help="Horizon in days (default: SYNC_TOMBSTONE_HORIZON_DAYS, %(default)s).",
        )

    def handle(self, *args, days, **options):
        if days < 1:
            raise CommandError("--days must be at least 1")
        count = sync_purge_tombstones(days=days)
        self.stdout.write(f"Purged {count} tombstone(s) older than {days} days.")
