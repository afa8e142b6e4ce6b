"""Background tasks (procrastinate discovers this module in every installed app)."""

import psycopg
from django.db import DatabaseError

from dnc.services import dnc_expire_due
from jobs.imports import import_files_purge, import_job_run
from jobs.queue import is_last_attempt, periodic, retry_on, stalled_jobs_retry, task


@task(name="imports.run", queue="imports", retry=retry_on(DatabaseError, psycopg.Error),
      pass_context=True)  # fmt: skip
def import_run(context, job_id: str) -> str | None:
    """An uploaded file, imported (jobs/imports.py). Safe to run again: it goes on from the
    last batch it committed; on its last attempt a database error fails the job."""
    return import_job_run(job_id, last_attempt=is_last_attempt(context))


@periodic(cron="17 3 * * *")
@task(name="imports.purge_files", queue="upkeep")
def imports_purge_files(timestamp: int) -> int:
    """Every night: uploaded files of jobs finished more than 7 days ago are deleted (the job,
    its counts and its errors stay; undo never needed the file)."""
    return import_files_purge()


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
