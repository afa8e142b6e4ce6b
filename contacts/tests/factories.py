"""Contacts are made through the service, like every other write, with valid E.164 numbers."""

import itertools
from datetime import datetime

from accounts.tests.factories import UserFactory
from contacts.services import ContactInput, contact_create

_numbers = itertools.count()


def next_phone() -> str:
    n = next(_numbers)
    return f"+1202{200 + n // 10000:03d}{n % 10000:04d}"


def make_contact(
    *,
    actor=None,
    name: str = "Test Contact",
    phone: str | None = None,
    created_at: datetime | None = None,
):
    actor = actor or UserFactory()
    outcome = contact_create(
        actor=actor,
        item=ContactInput(name=name, phone=phone or next_phone(), created_at=created_at),
    )
    return outcome.contact
