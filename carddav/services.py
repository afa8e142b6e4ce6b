"""Cards written by CardDAV clients: a vCard upload becomes a contacts service call.

A new card is ``contacts.services.contact_create`` (older wins: a number the book already
holds resolves to that contact, never a 409/412, which DAVx5 would take as "server wins" and
drop the phone's card silently); an edit is ``contact_update`` with the If-Match version as
``base_version`` (field-level merge); a delete is ``contact_delete``. The rules, the versions
and the activity records are theirs. What is CardDAV's own: the name the client chose for a
card, kept in CardName, and the retired name of an upload that became an existing contact.
"""

from dataclasses import dataclass

from django.db import transaction

from carddav.models import CardName
from contacts.models import Contact
from contacts.services import (
    ContactInput,
    Result,
    contact_create,
    contact_delete,
    contact_update,
)
from crm.phones import InvalidPhone, phone_normalize
from ledger.versioning import CONTACTS, version_next


@dataclass
class CardWritten:
    created: bool  # a new resource at this name (201), else 204
    contact: Contact
    version: int  # the contact's version after the write: the card's ETag


def _fields(card: dict) -> dict:
    """The contact's fields a card sets. Only the first (preferred) number and address are
    kept; a card without them clears nothing else but cannot be stored (the caller's 403)."""
    return {
        "name": card["name"],
        "phone": card["phones"][0] if card["phones"] else "",
        "email": card["emails"][0] if card["emails"] else "",
        "company": card["company"],
        "title": card["title"],
        "notes": card["notes"],
        "tags": card["tags"],
    }


@transaction.atomic
def card_create(*, actor, name: str, card: dict) -> CardWritten:
    """A card uploaded at a name that holds none. Created, it keeps the client's name and UID;
    resolved to an existing contact (its number was in the book), the name is retired at a new
    version of the contact feed, so the next sync-collection reports it deleted and the client
    keeps the existing contact's card."""
    outcome = contact_create(actor=actor, item=ContactInput(**_fields(card)))
    contact = outcome.contact
    if outcome.result == Result.CREATED:
        CardName.objects.update_or_create(
            name=name,
            defaults={"contact": contact, "uid": card.get("uid", ""), "retired": False},
        )
        return CardWritten(created=True, contact=contact, version=contact.version)
    retired_at = version_next(CONTACTS)
    CardName.objects.update_or_create(
        name=name,
        defaults={"contact": contact, "uid": "", "retired": True, "version": retired_at},
    )
    return CardWritten(created=True, contact=contact, version=contact.version)


def card_update(*, actor, contact: Contact, card: dict, base_version: int | None) -> CardWritten:
    """A card uploaded over an existing one: every field the card carries is set (a PUT
    replaces the card), as a field-level edit after ``base_version``. The number is only
    named when it is another number, so a phone writing ``+1 202-555-0100`` for
    ``+12025550100`` changes nothing."""
    fields = _fields(card)
    phone = fields.pop("phone")
    try:
        if phone and phone_normalize(phone) != contact.phone_normalized:
            fields["phone"] = phone
    except InvalidPhone:
        fields["phone"] = phone  # the service names the error
    if not phone:
        fields["phone"] = ""
    outcome = contact_update(actor=actor, contact=contact, base_version=base_version, **fields)
    return CardWritten(created=False, contact=outcome.contact, version=outcome.contact.version)


def card_delete(*, actor, contact: Contact, base_version: int | None) -> None:
    contact_delete(actor=actor, contact=contact, base_version=base_version)
