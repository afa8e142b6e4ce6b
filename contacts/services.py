"""Contact writes. The API, the sync endpoint, the admin, the importers and the management
commands all call these functions: the older-wins rule, the version stamp, call linking and the
activity record live here and nowhere else."""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
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
from crm.bulk import bulk_copy
from syncaudit.activity import activity_record, activity_record_rows
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


class ContactOutcome:
    """What a write did with one input: ``result``, the ``contact`` it ended up as, and the
    ``changes`` recorded in the contact's history.

    The batch upsert holds its contacts as plain column values; ``contact`` builds the model
    instance when first read (an import that only counts outcomes builds none). Inputs that
    resolved to the same contact share one instance.
    """

    __slots__ = ("_contact", "_row", "changes", "index", "result")

    def __init__(self, result: str, contact: Contact | None = None, index: int = 0, changes=None):
        self.result = result
        self.index = index
        self.changes = {} if changes is None else changes
        self._contact = contact
        self._row: _ContactRow | None = None

    @property
    def contact(self) -> Contact:
        if self._contact is None and self._row is not None:
            self._contact = self._row.instance()
        return self._contact

    @property
    def phone_normalized(self) -> str:
        """The contact's number, without building the contact."""
        if self._row is not None:
            return self._row.values[_NUMBER]
        return self.contact.phone_normalized

    def __repr__(self):
        return f"ContactOutcome(result={self.result!r}, index={self.index})"


# The contact columns as the batch upsert holds them, in the model's field order (a check at
# import time keeps the two in step).
_ROW_FIELDS = (
    "id",
    "name",
    "name_search",
    "phone",
    "phone_normalized",
    "created_by_id",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
)
if tuple(f.attname for f in Contact._meta.concrete_fields) != _ROW_FIELDS:  # pragma: no cover
    raise RuntimeError("contacts.services._ROW_FIELDS no longer matches the Contact model")
_NAME, _NUMBER, _CREATED_BY, _CREATED_AT = 1, 4, 5, 6


class _ContactRow:
    """One contact as plain values (``_ROW_FIELDS`` order); the instance is made on demand."""

    __slots__ = ("_instance", "created_by", "saved", "values")

    def __init__(self, values: tuple, *, created_by=None, saved: bool):
        self.values = values
        self.created_by = created_by  # the User, when known (saves a query on .created_by)
        self.saved = saved
        self._instance: Contact | None = None

    def instance(self) -> Contact:
        if self._instance is None:
            contact = Contact.from_db(connection.alias, _ROW_FIELDS, self.values)
            if not self.saved:  # a dry run's new contact: not in the database
                contact._state.adding, contact._state.db = True, None
            if self.created_by is not None:
                contact.created_by = self.created_by
            self._instance = contact
        return self._instance


def _contact_repr(values: tuple) -> str:
    """str(contact) without the instance: keep in step with Contact.__str__."""
    return f"{values[_NAME]} ({values[_NUMBER]})"


# --- validation shared by every path -----------------------------------------------------


# Unicode's "Cc" (control) category is exactly these 65 code points: C0, DEL and C1
# (tests/test_services.py checks that against unicodedata for every code point).
_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f]")


def _has_control_chars(text: str) -> bool:
    return _CONTROL_CHARS.search(text) is not None


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


def _validate(
    item: ContactInput, now: datetime, numbers: Mapping[str, str] | None = None
) -> tuple[dict, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    clean = {}
    try:
        clean["name"] = contact_clean_name(item.name)
    except ValueError as exc:
        errors["name"] = [str(exc)]
    try:
        known = numbers.get(item.phone) if numbers and isinstance(item.phone, str) else None
        clean["phone_normalized"] = known or phone_normalize(item.phone)
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


def contacts_validate(items: list[ContactInput]) -> dict[int, dict[str, list[str]]]:
    """The checks contacts_upsert starts with, and nothing else: names, numbers and times, by
    index. No database access, no locks; an empty answer means contacts_upsert will accept
    the rows (validity does not depend on the database, and a time can only stop being "in
    the future"). import_contacts checks a whole file with it before importing any of it."""
    now = timezone.now()
    errors = {}
    for index, item in enumerate(items):
        item_errors = _validate(item, now)[1]
        if item_errors:
            errors[index] = item_errors
    return errors


@transaction.atomic
def contacts_upsert(
    *,
    actor,
    items: list[ContactInput],
    dry_run: bool = False,
    numbers: Mapping[str, str] | None = None,
) -> list[ContactOutcome]:
    """Create contacts, or resolve each against the live contact holding its number.

    All rows are validated first; any invalid row raises ContactBatchInvalid and nothing is
    written. Within the batch and against the database the older record wins (ties keep what
    is already there / what came first). Returns one outcome per input, in input order.
    With ``dry_run`` nothing is locked or written: the outcomes are what an import would do
    against the database as it is now (the admin's preview, import_contacts --dry-run).

    ``numbers`` maps phones as written to the E.164 form that phone_normalize gave this server
    for them earlier (contacts_numbers_of() of a preview's outcomes: the admin's confirm step
    reuses its preview's parse). Phones found there are not parsed again; the others are.
    Only pass what came out of phone_normalize: it is trusted as such.
    """
    now = timezone.now()
    cleaned: list[dict] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        clean, item_errors = _validate(item, now, numbers)
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
    existing = {values[_NUMBER]: values for values in lookup.values_list(*_ROW_FIELDS)}

    saved = not dry_run
    by_number: dict[str, tuple[str, _ContactRow, dict]] = {}
    to_create: list[_ContactRow] = []
    to_replace: list[_ContactRow] = []

    def incoming(clean: dict, contact_id, phone: str, *, saved: bool) -> _ContactRow:
        """The row an incoming record becomes, under ``contact_id`` (new or replaced)."""
        creator = clean["created_by"]
        values = (
            contact_id,
            clean["name"],
            search_key(clean["name"]),
            phone,
            clean["phone_normalized"],
            creator.pk,
            clean["created_at"],
            now,
            version,
            None,
        )
        return _ContactRow(values, created_by=creator, saved=saved)

    for number, index in winners.items():
        clean = cleaned[index]
        current = existing.get(number)
        if current is None:
            row = incoming(clean, uuid.uuid4(), clean["phone"], saved=saved)
            to_create.append(row)
            by_number[number] = (Result.CREATED, row, {})
        elif _older_wins(current[_CREATED_AT], clean["created_at"]):
            changes = {
                "name": [current[_NAME], clean["name"]],
                "created_by": [str(current[_CREATED_BY]), str(clean["created_by"].pk)],
                "created_at": [current[_CREATED_AT].isoformat(), clean["created_at"].isoformat()],
            }
            # The number as entered stays the book's; the row exists either way.
            row = incoming(clean, current[0], current[3], saved=True)
            to_replace.append(row)
            by_number[number] = (Result.REPLACED, row, changes)
        else:
            by_number[number] = (Result.EXISTING, _ContactRow(current, saved=True), {})

    if not dry_run:
        _contacts_write(
            actor=actor, to_create=to_create, to_replace=to_replace, by_number=by_number
        )

    outcomes = []
    for index, clean in enumerate(cleaned):
        number = clean["phone_normalized"]
        result, row, changes = by_number[number]
        if winners[number] != index:
            # A younger duplicate inside the same batch: the winner stands for it.
            result, changes = Result.EXISTING, {}
        outcome = ContactOutcome(result, index=index, changes=changes)
        outcome._row = row
        outcomes.append(outcome)
    return outcomes


def contacts_numbers_of(
    items: list[ContactInput], outcomes: list[ContactOutcome]
) -> dict[str, str]:
    """Each input's phone as written -> the E.164 number contacts_upsert read it as (for
    ``numbers`` in a later contacts_upsert of the same rows)."""
    return {
        item.phone: outcome.phone_normalized for item, outcome in zip(items, outcomes, strict=True)
    }


_CONTACT_COLUMNS = [f.column for f in Contact._meta.concrete_fields]


def _contacts_write(*, actor, to_create, to_replace, by_number) -> None:
    # Plain rows, streamed (COPY on PostgreSQL): no instances, no statement of thousands of
    # bound parameters. Nothing listens to signals of bulk writes, so none are lost.
    if to_create:
        bulk_copy(Contact, _CONTACT_COLUMNS, [row.values for row in to_create])
    if to_replace:
        Contact.objects.bulk_update(
            [row.instance() for row in to_replace],
            ["name", "name_search", "created_by", "created_at", "updated_at", "version"],
            batch_size=1000,
        )
    if to_create:
        calls_link_to_contacts(phones=[row.values[_NUMBER] for row in to_create])
    object_type = Contact._meta.model_name
    activity_record_rows(
        actor=actor,
        action="contacts.contact.created",
        rows=(
            (
                object_type,
                str(row.values[0]),
                _contact_repr(row.values),
                {"name": [None, row.values[_NAME]], "phone": [None, row.values[_NUMBER]]},
            )
            for row in to_create
        ),
    )
    activity_record_rows(
        actor=actor,
        action="contacts.contact.replaced",
        rows=(
            (
                object_type,
                str(row.values[0]),
                _contact_repr(row.values),
                by_number[row.values[_NUMBER]][2],
            )
            for row in to_replace
        ),
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
