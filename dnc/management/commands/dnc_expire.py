from django.core.management.base import BaseCommand

from dnc.services import dnc_expire_due


class Command(BaseCommand):
    help = (
        "Give expired do-not-call entries a new version, so phones following /sync/dnc drop "
        "them. Every feed read and the worker's periodic dnc.expire task (every minute) do "
        "this too."
    )

    def handle(self, *args, **options):
        count = dnc_expire_due()
        self.stdout.write(f"{count} entr{'y' if count == 1 else 'ies'} expired.")
