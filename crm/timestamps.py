"""Timestamps at the edge: the one parser of client-sent times, and the one way out.

The contract: ISO 8601 *with* a timezone in, UTC with a ``Z`` out. A time without a zone is
refused everywhere (REST, sync, call uploads, imports) rather than guessed."""

from datetime import UTC, datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as the contract promises."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def timestamp_parse(value) -> datetime:
    """A client's timestamp text as an aware UTC datetime; ValueError (with the message the
    client sees) for anything else."""
    if not isinstance(value, str):
        raise ValueError("Must be an ISO 8601 timestamp string.")
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:  # well-formed but impossible (month 13)
        parsed = None
    if parsed is None:
        raise ValueError("Not an ISO 8601 timestamp (e.g. 2024-05-01T10:00:00Z).")
    return timestamp_aware(parsed)


def timestamp_aware(value: datetime) -> datetime:
    """``value`` in UTC; a time without a timezone is an error, never a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("The time needs a timezone (Z or +hh:mm, e.g. 2024-05-01T10:00:00Z).")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the year 1 in UTC
        raise ValueError("This time is out of range.") from None


def timestamp_not_future(value: datetime, *, now: datetime) -> datetime:
    """Phones' clocks drift: up to CLOCK_SKEW_TOLERANCE ahead of ours is still "now"."""
    if value > now + settings.CLOCK_SKEW_TOLERANCE:
        raise ValueError("This time is in the future.")
    return value
