from django.core.management.base import BaseCommand

from jobs.queue import worker_run


class Command(BaseCommand):
    help = (
        "Run a background worker (jobs and periodic upkeep). Start as many as you like, on "
        "any machine that reaches the database; SIGTERM lets running jobs finish."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="Stop when the queues are empty (for tests)."
        )
        parser.add_argument("--concurrency", type=int, default=1)

    def handle(self, *args, once: bool, concurrency: int, **options):
        self.stdout.write("Worker started." if not once else "Working the queues once.")
        worker_run(once=once, concurrency=concurrency)
