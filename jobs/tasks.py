"""Background tasks (procrastinate discovers this module in every installed app)."""

from django.db import DatabaseError

from dnc.services import dnc_expire_due
from jobs.imports import import_job_run
from jobs.queue import periodic, retry_on, stalled_jobs_retry, task


@task(name="imports.run", queue="imports", retry=retry_on(DatabaseError))
def import_run(job_id: str) -> str | None:
    """An uploaded file, imported (jobs/imports.py). Safe to run again: it goes on from the
    last batch it committed."""
    return import_job_run(job_id)


@periodic(cron="* * * * *")
@task(name="dnc.expire", queue="upkeep")
def dnc_expire(timestamp: int) -> int:
    """Every minute: expired do-not-call entries get their new version (see dnc/services.py),
    so phones following the feed drop them even while nobody reads it."""
    return dnc_expire_due()


@periodic(cron="* * * * *")
@task(name="jobs.recover", queue="upkeep")
async def jobs_recover(timestamp: int) -> int:
    """Every minute: jobs of workers that died are retried (jobs/queue.py)."""
    return await stalled_jobs_retry()
