from datetime import UTC, datetime, timedelta, timezone

import pytest

from crm.timestamps import iso_utc, timestamp_not_future, timestamp_parse

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 10:00:00.250000+00:00", datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("  2024-05-01T10:00Z ", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ],
)
def test_it_reads_iso_8601_with_a_timezone_as_utc(text, expected):
    parsed = timestamp_parse(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-05-01T10:00:00", "needs a timezone"),
        ("2024-05-01", "needs a timezone"),
        ("yesterday", "Not an ISO 8601 timestamp"),
        ("2024-13-01T10:00:00Z", "Not an ISO 8601 timestamp"),
        ("", "Not an ISO 8601 timestamp"),
        (1714557600, "Must be an ISO 8601 timestamp string"),
        (None, "Must be an ISO 8601 timestamp string"),
    ],
)
def test_it_refuses_anything_else_with_a_message_for_the_client(value, message):
    with pytest.raises(ValueError, match=message):
        timestamp_parse(value)


def test_the_future_starts_after_the_clock_skew_tolerance(settings):
    settings.CLOCK_SKEW_TOLERANCE = timedelta(minutes=5)
    assert timestamp_not_future(NOW + timedelta(minutes=5), now=NOW) == NOW + timedelta(minutes=5)
    with pytest.raises(ValueError, match="in the future"):
        timestamp_not_future(NOW + timedelta(minutes=5, seconds=1), now=NOW)


def test_iso_utc_writes_what_timestamp_parse_reads():
    value = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC).astimezone(
        timezone(timedelta(hours=9))
    )
    assert iso_utc(value) == "2024-05-01T12:00:00.123456Z"
    assert timestamp_parse(iso_utc(value)) == value
    assert iso_utc(None) is None
