from django.core.management.base import BaseCommand

from syncaudit.services import sync_reset_cursors


class Command(BaseCommand):
    help = (
        "Invalidate every sync cursor issued so far (bump the cursor epoch), e.g. after a "
        "restore from backup. Each phone's next sync answers 410 cursor_expired and the phone "
        "does a full sync, then pushes its pending changes again."
    )

    def handle(self, *args, **options):
        epoch = sync_reset_cursors()
        self.stdout.write(f"Cursor epoch is now {epoch}; all earlier cursors are refused.")
