"""Contact writes. The API, the sync endpoint, the admin, the importers and the management
commands all call these functions: the older-wins rule, the version stamp, call linking and the
activity record live here and nowhere else."""

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calls.services import calls_link_to_contacts, calls_relink_contact
from contacts.errors import (
    ContactBatchInvalid,
    ContactGone,
    ContactInvalid,
    DuplicatePhone,
    VersionConflict,
)
from contacts.models import Contact
from contacts.phones import InvalidPhone, phone_normalize
from contacts.selectors import contact_to_dict
from contacts.text import search_key
from syncaudit.activity import activity_record, activity_record_many
from syncaudit.versioning import CONTACTS, version_next

NAME_MAX_LENGTH = 200


class Result:
    CREATED = "created"
    EXISTING = "existing"
    REPLACED = "replaced"
    UPDATED = "updated"
    DELETED = "deleted"
    CONFLICT = "conflict"


@dataclass
class ContactInput:
    name: str
    phone: str
    created_at: datetime | None = None
    created_by: object | None = None  # a User; defaults to the actor
    client_id: str | None = None


@dataclass
class ContactOutcome:
    result: str
    contact: Contact
    index: int = 0
    changes: dict = field(default_factory=dict)


# --- validation shared by every path -----------------------------------------------------


def _has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def contact_clean_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("A name is required.")
    if _has_control_chars(name):
        raise ValueError("The name contains control characters.")
    name = " ".join(name.split())
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"At most {NAME_MAX_LENGTH} characters.")
    return name


def contact_clean_created_at(value: datetime | None, *, now: datetime) -> datetime:
    if value is None:
        return now
    if timezone.is_naive(value):
        raise ValueError("The time needs a timezone (e.g. 2024-05-01T10:00:00Z).")
    if value > now + settings.CLOCK_SKEW_TOLERANCE:
        raise ValueError("This time is in the future.")
    return value.astimezone(UTC)


def _validate(item: ContactInput, now: datetime) -> tuple[dict, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    clean = {}
    try:
        clean["name"] = contact_clean_name(item.name)
    except ValueError as exc:
        errors["name"] = [str(exc)]
    try:
        clean["phone_normalized"] = phone_normalize(item.phone)
        clean["phone"] = item.phone.strip()
    except InvalidPhone as exc:
        errors["phone"] = [str(exc)]
    try:
        clean["created_at"] = contact_clean_created_at(item.created_at, now=now)
    except ValueError as exc:
        errors["created_at"] = [str(exc)]
    return clean, errors


def _older_wins(existing_created_at: datetime, incoming_created_at: datetime) -> bool:
    """The one rule: the incoming record replaces the existing one only if strictly older."""
    return incoming_created_at < existing_created_at


# --- create (single or many): the older record wins ---------------------------------------


@transaction.atomic
def contacts_upsert(
    *, actor, items: list[ContactInput], dry_run: bool = False
) -> list[ContactOutcome]:
    """Create contacts, or resolve each against the live contact holding its number.

    All rows are validated first; any invalid row raises ContactBatchInvalid and nothing is
    written. Within the batch and against the database the older record wins (ties keep what
    is already there / what came first). Returns one outcome per input, in input order.
    With ``dry_run`` nothing is locked or written: the outcomes are what an import would do
    against the database as it is now (the admin's preview, import_contacts' check pass).
    """
    now = timezone.now()
    cleaned: list[dict] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        clean, item_errors = _validate(item, now)
        if item_errors:
            errors[index] = item_errors
        clean["created_by"] = item.created_by or actor
        cleaned.append(clean)
    if errors:
        raise ContactBatchInvalid(errors)

    # Older wins inside the batch first: one candidate per number.
    winners: dict[str, int] = {}
    for index, clean in enumerate(cleaned):
        number = clean["phone_normalized"]
        best = winners.get(number)
        if best is None or _older_wins(cleaned[best]["created_at"], clean["created_at"]):
            winners[number] = index

    # From here on every contact writer is serialised (see syncaudit/versioning.py), so the
    # lookup below cannot race another create of the same number.
    version = 0 if dry_run else version_next(CONTACTS)
    live = Contact.live if dry_run else Contact.live.select_for_update()
    lookup = live.filter(phone_normalized__in=list(winners)).order_by()  # no sort: by number
    existing = {c.phone_normalized: c for c in lookup}

    by_number: dict[str, tuple[str, Contact, dict]] = {}
    to_create: list[Contact] = []
    to_replace: list[Contact] = []
    for number, index in winners.items():
        clean = cleaned[index]
        current = existing.get(number)
        if current is None:
            contact = Contact(
                name=clean["name"],
                name_search=search_key(clean["name"]),
                phone=clean["phone"],
                phone_normalized=number,
                created_by=clean["created_by"],
                created_at=clean["created_at"],
                updated_at=now,
                version=version,
            )
            to_create.append(contact)
            by_number[number] = (Result.CREATED, contact, {})
        elif _older_wins(current.created_at, clean["created_at"]):
            changes = {
                "name": [current.name, clean["name"]],
                "created_by": [str(current.created_by_id), str(clean["created_by"].pk)],
                "created_at": [current.created_at.isoformat(), clean["created_at"].isoformat()],
            }
            current.name = clean["name"]
            current.name_search = search_key(clean["name"])
            current.created_by = clean["created_by"]
            current.created_at = clean["created_at"]
            current.updated_at = now
            current.version = version
            to_replace.append(current)
            by_number[number] = (Result.REPLACED, current, changes)
        else:
            by_number[number] = (Result.EXISTING, current, {})

    if not dry_run:
        _contacts_write(
            actor=actor, to_create=to_create, to_replace=to_replace, by_number=by_number
        )

    outcomes = []
    for index, clean in enumerate(cleaned):
        result, contact, changes = by_number[clean["phone_normalized"]]
        if winners[clean["phone_normalized"]] != index:
            # A younger duplicate inside the same batch: the winner stands for it.
            result, changes = Result.EXISTING, {}
        outcomes.append(
            ContactOutcome(result=result, contact=contact, index=index, changes=changes)
        )
    return outcomes


def _contacts_write(*, actor, to_create, to_replace, by_number) -> None:
    Contact.objects.bulk_create(to_create, batch_size=1000)
    Contact.objects.bulk_update(
        to_replace,
        ["name", "name_search", "created_by", "created_at", "updated_at", "version"],
        batch_size=1000,
    )
    if to_create:
        calls_link_to_contacts(phones=[c.phone_normalized for c in to_create])
    activity_record_many(
        actor=actor,
        action="contacts.contact.created",
        rows=[
            (c, {"name": [None, c.name], "phone": [None, c.phone_normalized]}) for c in to_create
        ],
    )
    activity_record_many(
        actor=actor,
        action="contacts.contact.replaced",
        rows=[(c, by_number[c.phone_normalized][2]) for c in to_replace],
    )


def contacts_import_record(*, actor, source: str, counts: dict[str, int]) -> None:
    """One activity row per import run (the rows themselves are recorded one by one)."""
    activity_record(actor=actor, action="contacts.import.run", changes={"source": source, **counts})


def contact_create(*, actor, item: ContactInput) -> ContactOutcome:
    try:
        return contacts_upsert(actor=actor, items=[item])[0]
    except ContactBatchInvalid as exc:
        raise ContactInvalid(exc.errors[0]) from None


# --- edit and delete -----------------------------------------------------------------------


def _check_base_version(base_version: int | None, current: Contact) -> None:
    if base_version is not None and base_version > current.version:
        raise ContactInvalid({"base_version": ["Newer than the server's version of this contact."]})


def _lock_for_write(contact_id) -> Contact:
    contact = Contact.objects.select_for_update().select_related("created_by").get(pk=contact_id)
    if contact.deleted_at is not None:
        raise ContactGone(contact)
    return contact


@transaction.atomic
def contact_update(
    *,
    actor,
    contact: Contact,
    name: str | None = None,
    phone: str | None = None,
    base_version: int | None = None,
) -> ContactOutcome:
    """Edit name and/or phone. A stale ``base_version`` is a conflict unless the edit is already
    what the server holds (a retried request), which answers the current state unchanged."""
    errors: dict[str, list[str]] = {}
    new: dict = {}
    if name is not None:
        try:
            new["name"] = contact_clean_name(name)
        except ValueError as exc:
            errors["name"] = [str(exc)]
    if phone is not None:
        try:
            new["phone_normalized"] = phone_normalize(phone)
            new["phone"] = phone.strip()
        except InvalidPhone as exc:
            errors["phone"] = [str(exc)]
    if errors:
        raise ContactInvalid(errors)

    version = version_next(CONTACTS)
    current = _lock_for_write(contact.pk)
    _check_base_version(base_version, current)
    changes = {
        key: [getattr(current, key), value]
        for key, value in new.items()
        if getattr(current, key) != value
    }
    if not changes:
        return ContactOutcome(result=Result.UPDATED, contact=current)
    if base_version is not None and base_version < current.version:
        raise VersionConflict(current)

    new_number = new.get("phone_normalized")
    old_number = current.phone_normalized
    if new_number and new_number != old_number:
        holder = (
            Contact.live.select_related("created_by")
            .filter(phone_normalized=new_number)
            .exclude(pk=current.pk)
            .first()
        )
        if holder is not None:
            raise DuplicatePhone(holder, contact_to_dict(holder))
    for key, value in new.items():
        setattr(current, key, value)
    current.name_search = search_key(current.name)
    current.updated_at = timezone.now()
    current.version = version
    current.save()
    if new_number and new_number != old_number:
        calls_relink_contact(contact=current)
    activity_record(actor=actor, action="contacts.contact.updated", obj=current, changes=changes)
    return ContactOutcome(result=Result.UPDATED, contact=current, changes=changes)


@transaction.atomic
def contact_delete(*, actor, contact: Contact, base_version: int | None = None) -> ContactOutcome:
    """Soft delete: the row stays as a tombstone for the sync feed; its calls keep their link.
    Deleting an already deleted contact is a no-op (a retried request)."""
    version = version_next(CONTACTS)
    current = Contact.objects.select_for_update().get(pk=contact.pk)
    if current.deleted_at is not None:
        return ContactOutcome(result=Result.DELETED, contact=current)
    _check_base_version(base_version, current)
    if base_version is not None and base_version < current.version:
        raise VersionConflict(current)
    current.deleted_at = current.updated_at = timezone.now()
    current.version = version
    current.save(update_fields=["deleted_at", "updated_at", "version"])
    activity_record(
        actor=actor,
        action="contacts.contact.deleted",
        obj=current,
        changes={"name": [current.name, None], "phone": [current.phone_normalized, None]},
    )
    return ContactOutcome(result=Result.DELETED, contact=current)
