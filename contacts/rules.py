"""Older wins: what an incoming record does to the contact book. A pure function, read like
the contract's table (a test, contacts/tests/test_rules.py, spells the table out):

    existing live contact with the number    result
    none                                     created: a new contact
    older, or the same age                   existing: nothing changes
    younger than the incoming record         replaced: the existing row takes the incoming
                                             name, creator and created_at (its id stays)

Inside one batch the same rule picks one candidate per number first: the oldest, and of equal
ages the one that came first (it is the "existing" one for those after it).
"""

from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Decision(StrEnum):
    CREATED = "created"
    EXISTING = "existing"
    REPLACED = "replaced"


class Dated(Protocol):
    """A record as the rule sees it: when it was first saved, wherever that was."""

    @property
    def created_at(self) -> datetime: ...


def older_wins(*, incoming: Dated, existing: Dated | None) -> Decision:
    if existing is None:
        return Decision.CREATED
    if incoming.created_at < existing.created_at:
        return Decision.REPLACED
    return Decision.EXISTING
