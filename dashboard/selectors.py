"""The dashboard's widgets: one query each, over a date range, days in the back office's time
zone (settings.TIME_ZONE). Fast on millions of calls: each reads a range of an index
(calls by started_at, contacts by created_at, sync records by started_at) and aggregates in
PostgreSQL."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from calls.models import CallLog, Direction
from calls.selectors import calls_to_blocked_per_day
from contacts.models import Contact
from jobs.models import ImportJob, ImportStatus
from syncaudit.models import Device, SyncOutcome, SyncRecord
from syncaudit.selectors import version_key

STALE_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Span:
    since: datetime
    until: datetime

    @property
    def days(self) -> list[date]:
        zone = timezone.get_current_timezone()
        first = timezone.localtime(self.since, zone).date()
        last = timezone.localtime(self.until - timedelta(microseconds=1), zone).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def span_of(*, days: int, now: datetime | None = None) -> Span:
    """The last ``days`` days, today included, from local midnight."""
    now = now or timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return Span(since=today - timedelta(days=days - 1), until=today + timedelta(days=1))


@dataclass
class AgentDay:
    incoming: int = 0
    outgoing: int = 0
    missed: int = 0
    other: int = 0
    talk_seconds: int = 0

    @property
    def total(self) -> int:
        return self.incoming + self.outgoing + self.missed + self.other

    @property
    def missed_rate(self) -> float | None:
        """Missed among the calls that came in (incoming answered + missed)."""
        came_in = self.incoming + self.missed
        return self.missed / came_in if came_in else None


@dataclass
class CallsWidget:
    by_agent: dict[str, AgentDay] = field(default_factory=dict)
    by_day: dict[date, AgentDay] = field(default_factory=dict)
    total: AgentDay = field(default_factory=AgentDay)


def _add(target: AgentDay, direction: str, n: int, talk: int) -> None:
    name = direction if direction in ("incoming", "outgoing", "missed") else "other"
    setattr(target, name, getattr(target, name) + n)
    if name in ("incoming", "outgoing"):  # talk time: answered calls only
        target.talk_seconds += talk


def calls_widget(span: Span) -> CallsWidget:
    """Calls per agent and per day, by direction, with talk time (one query)."""
    zone = timezone.get_current_timezone()
    rows = (
        CallLog.objects.filter(started_at__gte=span.since, started_at__lt=span.until)
        .annotate(day=TruncDate("started_at", tzinfo=zone))
        .values("day", "user__email", "direction")
        .annotate(n=Count("id"), talk=Sum("duration_seconds"))
        .order_by()
    )
    widget = CallsWidget(by_day={day: AgentDay() for day in span.days})
    for row in rows:
        n, talk = row["n"], row["talk"] or 0
        _add(widget.by_agent.setdefault(row["user__email"], AgentDay()), row["direction"], n, talk)
        _add(widget.by_day.setdefault(row["day"], AgentDay()), row["direction"], n, talk)
        _add(widget.total, row["direction"], n, talk)
    widget.by_agent = dict(sorted(widget.by_agent.items(), key=lambda kv: -kv[1].total))
    return widget


def new_contacts_per_day(span: Span) -> dict[date, int]:
    """Contacts created per day (one query)."""
    zone = timezone.get_current_timezone()
    counts = dict.fromkeys(span.days, 0)
    rows = (
        Contact.live.filter(created_at__gte=span.since, created_at__lt=span.until)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts.update({row["day"]: row["n"] for row in rows})
    return counts


def devices_to_look_at(*, now: datetime) -> list[dict]:
    """Devices that have not synced for a day, or run an older app than the newest any
    device runs (one query; a team has tens or hundreds of devices)."""
    devices = list(Device.objects.select_related("user").order_by("user__email", "device_id"))
    newest = max((version_key(d.app_version) for d in devices if d.app_version), default=())
    found = []
    for device in devices:
        reasons = []
        if device.last_sync_at is None or device.last_sync_at < now - STALE_AFTER:
            reasons.append("not synced for a day")
        if device.app_version and version_key(device.app_version) < newest:
            reasons.append(f"app {device.app_version}, not the newest")
        if reasons:
            found.append({"device": device, "reasons": reasons})
    return found


def sync_health(span: Span) -> dict:
    """Syncs in the range, those that failed, and the rate (one query)."""
    counts = SyncRecord.objects.filter(
        started_at__gte=span.since, started_at__lt=span.until
    ).aggregate(
        total=Count("id"),
        failed=Count("id", filter=~Q(outcome=SyncOutcome.OK)),
        last=Max("started_at"),
    )
    counts["rate"] = counts["failed"] / counts["total"] if counts["total"] else None
    return counts


def imports_in_progress() -> list[ImportJob]:
    """Jobs queued, running or waiting for their columns (one query)."""
    waiting = (ImportStatus.PENDING, ImportStatus.RUNNING, ImportStatus.NEEDS_MAPPING)
    return list(ImportJob.objects.filter(status__in=waiting).select_related("created_by")[:20])


def dnc_hits(span: Span) -> dict:
    """Outgoing calls to numbers on an active do-not-call list then, per day and per agent
    (one query)."""
    per_day: dict[date, int] = dict.fromkeys(span.days, 0)
    by_agent: dict[str, int] = defaultdict(int)
    zone = str(timezone.get_current_timezone())
    for day, email, n in calls_to_blocked_per_day(since=span.since, until=span.until, zone=zone):
        per_day[day] = per_day.get(day, 0) + n
        by_agent[email] += n
    return {"per_day": per_day, "by_agent": dict(sorted(by_agent.items(), key=lambda kv: -kv[1])),
            "total": sum(by_agent.values())}  # fmt: skip


DIRECTIONS = tuple(Direction.values)
