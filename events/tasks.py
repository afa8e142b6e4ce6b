"""The worker's side of real time (procrastinate discovers this module in every app)."""

from events.push import push_round
from jobs.queue import periodic, task


@periodic(cron="* * * * * */5")  # every 5 seconds (the sixth field is seconds)
@task(name="push.round", queue="push", lock="push.round")
def push_round_task(timestamp: int) -> dict[str, int]:
    """Web Push to the phones whose feeds moved (events/push.py); one round at a time."""
    return push_round()
