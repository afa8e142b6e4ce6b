"""Background tasks (procrastinate discovers this module in every installed app)."""

from dnc.services import dnc_expire_due
from jobs.queue import periodic, task


@periodic(cron="* * * * *")
@task(name="dnc.expire", queue="upkeep")
def dnc_expire(timestamp: int) -> int:
    """Every minute: expired do-not-call entries get their new version (see dnc/services.py),
    so phones following the feed drop them even while nobody reads it."""
    return dnc_expire_due()
