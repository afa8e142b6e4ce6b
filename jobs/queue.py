"""The one door to the task queue: procrastinate, whose jobs live in PostgreSQL (no other
store to run; LISTEN/NOTIFY wakes the workers, periodic tasks are built in). Tasks are
declared and enqueued through this module only, so swapping the library touches one file.

Workers: ``python manage.py worker`` (any number, on any machine reaching the database).
"""

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app


def task(**options):
    """Declare a task (``queue=``, ``retry=``, ``lock=``...): procrastinate's own options."""
    return app.task(**options)


ATTEMPTS = 5


def retry_on(*exceptions: type[BaseException]) -> RetryStrategy:
    """Run a job again (after 2, 4, 8... seconds) when it raised one of ``exceptions``, up to
    ATTEMPTS runs in all."""
    return RetryStrategy(
        max_attempts=ATTEMPTS - 1, exponential_wait=2, retry_exceptions=set(exceptions)
    )


def is_last_attempt(context) -> bool:
    """For a task declared with ``pass_context=True``: no retry follows this run."""
    return context.job.attempts + 1 >= ATTEMPTS


def enqueue_once(declared, *, lock: str, **arguments) -> int:
    """enqueue, with a lock: no two jobs of the same lock run at the same time."""
    return declared.configure(lock=lock).defer(**arguments)


def periodic(*, cron: str):
    """Run the decorated task on a cron schedule (one run per tick, whatever the number of
    workers: procrastinate defers it with a queueing lock)."""
    return app.periodic(cron=cron)


def enqueue(declared, **arguments) -> int:
    """Put a job of ``declared`` on the queue; its id."""
    return declared.defer(**arguments)


async def stalled_jobs_retry() -> int:
    """Put back on the queue the jobs whose worker died mid-way (no heartbeat for 30 s: a
    killed process, a lost machine), so they are not left "doing" forever; they run again
    (tasks here are written to be safe to run twice). Their number."""
    stalled = list(await app.job_manager.get_stalled_jobs())
    for job in stalled:
        await app.job_manager.retry_job(job)
    return len(stalled)


def worker_run(*, once: bool = False, concurrency: int = 1) -> None:
    """Work jobs until stopped (SIGINT/SIGTERM: running jobs finish first); ``once``: until
    the queues are empty."""
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(wait=not once, concurrency=concurrency, install_signal_handlers=True)
