"""Older wins, read like the contract's table: plain records in, a decision out."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contacts.rules import Decision, older_wins

T0 = datetime(2025, 1, 1, tzinfo=UTC)
OLDER, SAME, YOUNGER = T0 - timedelta(seconds=1), T0, T0 + timedelta(seconds=1)


@dataclass(frozen=True)
class Record:
    created_at: datetime


@pytest.mark.parametrize(
    ("existing", "incoming", "decision"),
    [
        # no live contact holds the number: a new contact
        (None, T0, Decision.CREATED),
        # the existing record is older, or the same age: nothing changes
        (OLDER, T0, Decision.EXISTING),
        (SAME, T0, Decision.EXISTING),
        # the incoming record is older: it replaces the existing one (same row)
        (YOUNGER, T0, Decision.REPLACED),
    ],
)
def test_the_contracts_table(existing, incoming, decision):
    existing = None if existing is None else Record(existing)
    assert older_wins(incoming=Record(incoming), existing=existing) == decision


def test_a_microsecond_is_enough_to_be_older():
    later = Record(T0 + timedelta(microseconds=1))
    assert older_wins(incoming=Record(T0), existing=later) == Decision.REPLACED
    assert older_wins(incoming=later, existing=Record(T0)) == Decision.EXISTING


def test_times_compare_as_instants_whatever_their_offset():
    paris = datetime(2025, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=1)))  # T0 + 1h
    assert older_wins(incoming=Record(T0), existing=Record(paris)) == Decision.REPLACED


def test_the_decisions_are_the_results_the_api_answers():
    assert [d.value for d in Decision] == ["created", "existing", "replaced"]
