"""Contact writes. The API, the sync endpoint, the admin, the importers and the management
commands all call these functions: the older-wins rule, the version stamp, call linking and the
activity record live here and nowhere else."""

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone

from contacts.custom_fields import (
    Definitions,
    custom_fields_active,
    custom_values_clean,
    custom_values_merged,
)
from contacts.errors import (
    ContactBatchInvalid,
    ContactGone,
    ContactInvalid,
    DuplicatePhone,
    VersionConflict,
)
from contacts.merge import field_versions_stamped, fields_changed_since
from contacts.models import Contact
from contacts.rules import Decision, older_wins
from contacts.searchindex import search_index_add, search_index_refresh
from contacts.selectors import contact_to_dict
from contacts.text import details_search_key, search_key
from crm.db.store import copy_records
from crm.phones import InvalidPhone, phone_normalize, phone_normalize_many
from crm.text import text_is_storable
from crm.timestamps import timestamp_aware, timestamp_not_future
from ledger.activity import ActivityEntry, activity_record, activity_record_bulk
from ledger.numbers import number_moved, numbers_live
from ledger.versioning import CONTACTS, version_next

NAME_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254


class Result:
    CREATED = Decision.CREATED.value
    EXISTING = Decision.EXISTING.value
    REPLACED = Decision.REPLACED.value
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
    email: str | None = None
    company: str | None = None
    title: str | None = None
    notes: str | None = None
    tags: list[str] | None = None
    custom_fields: dict | None = None


# The contact's descriptive fields beyond name and number: optional text, "" when not known.
DETAILS = ("email", "company", "title", "notes")
# The fields search finds a contact by (contacts/searchindex.py keeps their words).
SEARCHED = {"name", "email", "company"}


@dataclass(slots=True)
class ContactRecord:
    """A contact as the batch upsert reads and writes it: the model's columns by attname, as
    plain values (an import of 100,000 rows builds no model instance unless one is asked for).
    A check below keeps the fields in step with the model."""

    id: uuid.UUID
    name: str
    name_search: str
    phone: str
    phone_normalized: str
    created_by_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    version: int
    deleted_at: datetime | None
    email: str
    company: str
    title: str
    notes: str
    tags: list[str]
    tags_key: list[str]
    custom_fields: dict
    custom_fields_hidden: dict
    lists: list[uuid.UUID]
    field_versions: dict
    details_search: str

    def __str__(self) -> str:  # Contact.__str__ without the instance
        return f"{self.name} ({self.phone_normalized})"


_COLUMNS = tuple(f.attname for f in Contact._meta.concrete_fields)
if tuple(f.name for f in fields(ContactRecord)) != _COLUMNS:  # pragma: no cover
    raise RuntimeError("contacts.services.ContactRecord no longer matches the Contact model")


@dataclass(frozen=True, slots=True)
class _Clean:
    """One input after validation: what older-wins compares, and what a new row is made of."""

    name: str
    phone: str
    phone_normalized: str
    created_at: datetime
    created_by: object  # a User
    email: str = ""
    company: str = ""
    title: str = ""
    notes: str = ""
    tags: tuple[str, ...] = ()
    custom_fields: dict | None = None


class ContactOutcome:
    """What a write did with one input: ``result``, the ``contact`` it ended up as, and the
    ``changes`` recorded in the contact's history.

    The batch upsert holds its contacts as ContactRecords; ``contact`` builds the model
    instance when first read (an import that only counts outcomes builds none). Inputs that
    resolved to the same contact share one instance.
    """

    __slots__ = ("_contact", "_record", "changes", "index", "result")

    def __init__(self, result: str, contact: Contact | None = None, index: int = 0, changes=None):
        self.result = result
        self.index = index
        self.changes = {} if changes is None else changes
        self._contact = contact
        self._record: _Held | None = None

    @property
    def contact(self) -> Contact:
        if self._contact is None and self._record is not None:
            self._contact = self._record.instance()
        return self._contact

    @property
    def contact_id(self) -> uuid.UUID:
        """The contact's id, without building the contact."""
        if self._record is not None:
            return self._record.record.id
        return self.contact.pk

    @property
    def version(self) -> int:
        """The contact's version after the write, without building the contact."""
        if self._record is not None:
            return self._record.record.version
        return self.contact.version

    @property
    def phone_normalized(self) -> str:
        """The contact's number, without building the contact."""
        if self._record is not None:
            return self._record.record.phone_normalized
        return self.contact.phone_normalized

    def __repr__(self):
        return f"ContactOutcome(result={self.result!r}, index={self.index})"


class _Held:
    """A ContactRecord an outcome stands for, and the Contact made of it on demand (one per
    record: the outcomes of one number share it)."""

    __slots__ = ("_instance", "created_by", "record", "saved")

    def __init__(self, record: ContactRecord, *, created_by=None, saved: bool):
        self.record = record
        self.created_by = created_by  # the User, when known (saves a query on .created_by)
        self.saved = saved
        self._instance: Contact | None = None

    def instance(self) -> Contact:
        if self._instance is None:
            values = [getattr(self.record, name) for name in _COLUMNS]
            if self.saved:
                contact = Contact.from_db(connection.alias, _COLUMNS, values)
            else:  # a dry run's new contact: not in the database
                contact = Contact(**dict(zip(_COLUMNS, values, strict=True)))
            if self.created_by is not None:
                contact.created_by = self.created_by
            self._instance = contact
        return self._instance


# --- validation shared by every path -----------------------------------------------------


# Unicode's "Cc" (control) category is exactly these 65 code points: C0, DEL and C1
# (tests/test_services.py checks that against unicodedata for every code point).
_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f]")


def _has_control_chars(text: str) -> bool:
    return _CONTROL_CHARS.search(text) is not None


def contact_clean_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("A name is required.")
    if _has_control_chars(name) or not text_is_storable(name):
        raise ValueError("The name contains control characters.")
    name = " ".join(name.split())
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"At most {NAME_MAX_LENGTH} characters.")
    return name


LINE_MAX_LENGTH = 200  # company, title
NOTES_MAX_LENGTH = 10_000
# Notes are prose: line breaks and tabs are welcome, other control characters are not.
_NOTE_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text_clean(value, *, max_length: int, multiline: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be a string.")
    value = value.strip()
    bad = _NOTE_CONTROL_CHARS if multiline else _CONTROL_CHARS
    if bad.search(value) or not text_is_storable(value):
        raise ValueError("Contains control characters.")
    if not multiline:
        value = " ".join(value.split())
    if len(value) > max_length:
        raise ValueError(f"At most {max_length} characters.")
    return value


def contact_clean_email(value) -> str:
    """An address or nothing; stored lower-case (addresses are compared without case)."""
    value = text_clean(value, max_length=EMAIL_MAX_LENGTH).lower()
    if value:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValueError("Enter a valid email address.") from None
    return value


_DETAIL_CLEANERS = {
    "email": contact_clean_email,
    "company": lambda value: text_clean(value, max_length=LINE_MAX_LENGTH),
    "title": lambda value: text_clean(value, max_length=LINE_MAX_LENGTH),
    "notes": lambda value: text_clean(value, max_length=NOTES_MAX_LENGTH, multiline=True),
}


def contact_clean_details(source, errors: dict[str, list[str]]) -> dict[str, str]:
    """The details ``source`` names (attributes left None are not named), cleaned; problems
    go into ``errors`` by field."""
    clean = {}
    for name in DETAILS:
        value = getattr(source, name, None)
        if value is None:
            continue
        try:
            clean[name] = _DETAIL_CLEANERS[name](value)
        except ValueError as exc:
            errors[name] = [str(exc)]
    return clean


TAGS_MAX = 50
TAG_MAX_LENGTH = 50


def tags_key(tags) -> list[str]:
    return [tag.casefold() for tag in tags]


def contact_clean_tags(value) -> list[str]:
    """A list of tags: each trimmed (one line, 1-50 characters), unique without regard to case
    (the first spelling is kept), at most 50."""
    if not isinstance(value, list | tuple):
        raise ValueError("Must be a list of strings.")
    tags, seen = [], set()
    for raw in value:
        try:
            tag = text_clean(raw, max_length=TAG_MAX_LENGTH)
        except ValueError as exc:
            raise ValueError(f"{raw!r}: {exc}") from None
        if not tag:
            raise ValueError("A tag cannot be empty.")
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise ValueError(f"At most {TAGS_MAX} tags.")
    return tags


def tags_merged(current, *, add=(), remove=()) -> list[str]:
    """``current`` with ``add`` appended (unless there already, in any case) and ``remove``
    taken out (in any case): a set operation, so concurrent edits of tags never conflict."""
    gone = set(tags_key(remove))
    merged = [tag for tag in current if tag.casefold() not in gone]
    have = set(tags_key(merged))
    for tag in add:
        if tag.casefold() not in have and tag.casefold() not in gone:
            have.add(tag.casefold())
            merged.append(tag)
    return merged


def contact_clean_created_at(value: datetime | None, *, now: datetime) -> datetime:
    if value is None:
        return now
    return timestamp_not_future(timestamp_aware(value), now=now)


def _validate(
    item: ContactInput,
    now: datetime,
    numbers: Mapping[str, str] | None = None,
    definitions: Definitions | None = None,
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
    clean.update(contact_clean_details(item, errors))
    if item.tags is not None:
        try:
            clean["tags"] = tuple(contact_clean_tags(item.tags))
        except ValueError as exc:
            errors["tags"] = [str(exc)]
    if item.custom_fields is not None:
        values, field_errors = custom_values_clean(item.custom_fields, definitions or {})
        clean["custom_fields"] = custom_values_merged({}, values)
        errors.update(field_errors)
    return clean, errors


def _definitions_for(items: list[ContactInput]) -> Definitions:
    """The active custom field definitions, read only if some input has custom fields."""
    if any(item.custom_fields for item in items):
        return custom_fields_active()
    return {}


# --- create (single or many): the older record wins ---------------------------------------


def _numbers_of(items: list[ContactInput], known: Mapping[str, str] | None) -> dict[str, str]:
    """phone as written -> E.164 for the valid numbers of a batch, read together
    (crm.phones.phone_normalize_many: the same answers, quicker for "+" numbers); the invalid
    ones are read again one by one, for their reasons."""
    phones = [i.phone for i in items if isinstance(i.phone, str) and i.phone not in (known or {})]
    numbers = {
        p: e164 for p, (e164, _) in zip(phones, phone_normalize_many(phones), strict=True) if e164
    }
    return {**numbers, **(known or {})}


def contacts_validate(items: list[ContactInput]) -> dict[int, dict[str, list[str]]]:
    """The checks contacts_upsert starts with, and nothing else: names, numbers and times, by
    index. No database access, no locks; an empty answer means contacts_upsert will accept
    the rows (validity does not depend on the database, and a time can only stop being "in
    the future"). import_contacts checks a whole file with it before importing any of it.
    (Custom fields are checked against the active definitions: one query, if any are named.)"""
    now = timezone.now()
    definitions = _definitions_for(items)
    numbers = _numbers_of(items, None)
    errors = {}
    for index, item in enumerate(items):
        item_errors = _validate(item, now, numbers, definitions)[1]
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
    written. Within the batch and against the database the older record wins (contacts/rules.py).
    Returns one outcome per input, in input order. With ``dry_run`` nothing is locked or
    written: the outcomes are what an import would do against the database as it is now (the
    admin's preview, import_contacts --dry-run).

    ``numbers`` maps phones as written to the E.164 form that phone_normalize gave this server
    for them earlier (contacts_numbers_of() of a preview's outcomes: the admin's confirm step
    reuses its preview's parse). Phones found there are not parsed again; the others are.
    Only pass what came out of phone_normalize: it is trusted as such.
    """
    now = timezone.now()
    cleaned: list[_Clean] = []
    errors: dict[int, dict[str, list[str]]] = {}
    definitions = _definitions_for(items)
    numbers = _numbers_of(items, numbers)
    for index, item in enumerate(items):
        clean, item_errors = _validate(item, now, numbers, definitions)
        if item_errors:
            errors[index] = item_errors
        else:
            cleaned.append(_Clean(**clean, created_by=item.created_by or actor))
    if errors:
        raise ContactBatchInvalid(errors)

    # Older wins inside the batch first: one candidate per number.
    winners: dict[str, int] = {}
    for index, clean in enumerate(cleaned):
        best = winners.get(clean.phone_normalized)
        best_clean = cleaned[best] if best is not None else None
        if older_wins(incoming=clean, existing=best_clean) != Decision.EXISTING:
            winners[clean.phone_normalized] = index

    # From here on every contact writer is serialised (see ledger/versioning.py), so the
    # lookup below cannot race another create of the same number.
    version = 0 if dry_run else version_next(CONTACTS)
    live = Contact.live if dry_run else Contact.live.select_for_update()
    lookup = live.filter(phone_normalized__in=list(winners)).order_by()  # no sort: by number
    existing = {
        record.phone_normalized: record
        for record in (ContactRecord(*values) for values in lookup.values_list(*_COLUMNS))
    }

    def record_of(
        clean: _Clean, contact_id: uuid.UUID, phone: str, kept: ContactRecord | None = None
    ) -> ContactRecord:
        """The row an incoming record becomes, under ``contact_id``: new, or replacing ``kept``
        (whose details stay where the incoming record has none: the older record wins, but
        nothing anybody typed is thrown away)."""
        details = {
            name: getattr(clean, name) or (getattr(kept, name) if kept is not None else "")
            for name in DETAILS
        }
        tags = tags_merged(kept.tags if kept is not None else [], add=clean.tags)
        custom = {**(kept.custom_fields if kept is not None else {}), **(clean.custom_fields or {})}
        return ContactRecord(
            id=contact_id,
            name=clean.name,
            name_search=search_key(clean.name),
            phone=phone,
            phone_normalized=clean.phone_normalized,
            created_by_id=clean.created_by.pk,
            created_at=clean.created_at,
            updated_at=now,
            version=version,
            deleted_at=None,
            **details,
            tags=tags,
            tags_key=tags_key(tags),
            custom_fields=custom,
            custom_fields_hidden=kept.custom_fields_hidden if kept is not None else {},
            lists=kept.lists if kept is not None else [],
            field_versions={},  # every field changed at this version (contacts/merge.py)
            details_search=details_search_key(details["email"], details["company"]),
        )

    saved = not dry_run
    by_number: dict[str, tuple[str, _Held, dict]] = {}
    for number, index in winners.items():
        clean, current = cleaned[index], existing.get(number)
        decision = older_wins(incoming=clean, existing=current)
        if decision == Decision.CREATED:
            record = record_of(clean, uuid.uuid4(), clean.phone)
            held, changes = _Held(record, created_by=clean.created_by, saved=saved), {}
        elif decision == Decision.REPLACED:
            # The number as entered stays the book's; the row exists either way.
            record = record_of(clean, current.id, current.phone, kept=current)
            changes = {
                "name": [current.name, clean.name],
                "created_by": [str(current.created_by_id), str(clean.created_by.pk)],
                "created_at": [current.created_at.isoformat(), clean.created_at.isoformat()],
                **{
                    name: [getattr(current, name), getattr(record, name)]
                    for name in (*DETAILS, "tags", "custom_fields")
                    if getattr(current, name) != getattr(record, name)
                },
            }
            held = _Held(record, created_by=clean.created_by, saved=True)
        else:
            held, changes = _Held(current, saved=True), {}
        by_number[number] = (decision.value, held, changes)

    if not dry_run:
        _contacts_write(actor=actor, outcomes=by_number.values())

    outcomes = []
    for index, clean in enumerate(cleaned):
        number = clean.phone_normalized
        result, held, changes = by_number[number]
        if winners[number] != index:
            # A younger duplicate inside the same batch: the winner stands for it.
            result, changes = Result.EXISTING, {}
        outcome = ContactOutcome(result, index=index, changes=changes)
        outcome._record = held
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


_REPLACED_FIELDS = [
    "name", "name_search", "created_by", "created_at", "updated_at", "version", *DETAILS,
    "tags", "tags_key", "custom_fields", "field_versions", "details_search",
]  # fmt: skip


def _contacts_write(*, actor, outcomes: Iterable[tuple[str, _Held, dict]]) -> None:
    outcomes = list(outcomes)
    created = [held.record for result, held, _ in outcomes if result == Result.CREATED]
    replaced = [(held, changes) for result, held, changes in outcomes if result == Result.REPLACED]
    # New rows are streamed (COPY): no instances, no statement of thousands of bound
    # parameters. Nothing listens to signals of bulk writes, so none are lost.
    copy_records(Contact, created, fields=_COLUMNS)
    search_index_add(created)
    if replaced:
        Contact.objects.bulk_update(
            [held.instance() for held, _ in replaced], _REPLACED_FIELDS, batch_size=1000
        )
        search_index_refresh(held.record.id for held, _ in replaced)
    numbers_live(numbers=[record.phone_normalized for record in created])
    object_type = Contact._meta.model_name
    activity_record_bulk(
        actor=actor,
        action="contacts.contact.created",
        entries=(
            ActivityEntry(
                object_type,
                str(record.id),
                str(record),
                {"name": [None, record.name], "phone": [None, record.phone_normalized]},
            )
            for record in created
        ),
    )
    activity_record_bulk(
        actor=actor,
        action="contacts.contact.replaced",
        entries=(
            ActivityEntry(object_type, str(held.record.id), str(held.record), changes)
            for held, changes in replaced
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


# What an edit names, as contacts/merge.py names fields: the phone covers both its columns.
_MERGE_NAME = {"phone_normalized": "phone"}


@transaction.atomic
def contact_update(
    *,
    actor,
    contact: Contact,
    name: str | None = None,
    phone: str | None = None,
    base_version: int | None = None,
    email: str | None = None,
    company: str | None = None,
    title: str | None = None,
    notes: str | None = None,
    tags: list[str] | None = None,
    tags_add: list[str] | None = None,
    tags_remove: list[str] | None = None,
    custom_fields: dict | None = None,
) -> ContactOutcome:
    """Edit the fields named (None: not named); ``custom_fields`` names keys one by one (a
    None value clears one).

    With a stale ``base_version`` the edit is merged field by field (contacts/merge.py): it
    is applied unless a field it would change was changed by someone else after
    ``base_version``, which raises VersionConflict naming those fields. An edit that is
    already what the server holds (a retried request) answers the current state unchanged.
    ``tags`` replaces the tags; ``tags_add`` / ``tags_remove`` change the set the server holds
    now, and never conflict."""
    errors: dict[str, list[str]] = {}
    new: dict = {}
    tag_sets = {}
    for field_name, value in (("tags", tags), ("tags_add", tags_add), ("tags_remove", tags_remove)):
        if value is not None:
            try:
                tag_sets[field_name] = contact_clean_tags(value)
            except ValueError as exc:
                errors[field_name] = [str(exc)]
    details = ContactInput(
        name="", phone="", email=email, company=company, title=title, notes=notes
    )
    new.update(contact_clean_details(details, errors))
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
    custom_edits = {}
    if custom_fields is not None:
        custom_edits, field_errors = custom_values_clean(custom_fields, custom_fields_active())
        errors.update(field_errors)
    if errors:
        raise ContactInvalid(errors)

    version = version_next(CONTACTS)
    current = _lock_for_write(contact.pk)
    _check_base_version(base_version, current)
    if "tags" in tag_sets:
        new["tags"] = tag_sets["tags"]
    elif "tags_add" in tag_sets or "tags_remove" in tag_sets:
        new["tags"] = tags_merged(
            current.tags, add=tag_sets.get("tags_add", ()), remove=tag_sets.get("tags_remove", ())
        )
        if len(new["tags"]) > TAGS_MAX:
            raise ContactInvalid({"tags_add": [f"A contact has at most {TAGS_MAX} tags."]})
    if custom_edits:
        new["custom_fields"] = custom_values_merged(current.custom_fields, custom_edits)
    changes = {
        key: [getattr(current, key), value]
        for key, value in new.items()
        if getattr(current, key) != value
    }
    if not changes:
        return ContactOutcome(result=Result.UPDATED, contact=current)
    changed = {_MERGE_NAME.get(key, key) for key in changes if key != "custom_fields"}
    if "custom_fields" in changes:
        before, after = changes["custom_fields"]
        changed |= {
            f"custom_fields.{key}" for key in before.keys() | after.keys()
            if before.get(key) != after.get(key)
        }  # fmt: skip
    # Set operations on the tags merge with anything; replacing them is an edit like any other.
    merged_freely = {"tags"} if "tags" not in tag_sets else set()
    checked = changed - merged_freely
    if base_version is not None and base_version < current.version:
        conflicting = fields_changed_since(
            current.field_versions, current.version, base_version, checked
        )
        if conflicting:
            raise VersionConflict(current, conflicting, contact_to_dict(current))

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
    current.field_versions = field_versions_stamped(
        current.field_versions, current.version, changed, version
    )
    for key, value in new.items():
        setattr(current, key, value)
    current.tags_key = tags_key(current.tags)
    current.name_search = search_key(current.name)
    current.details_search = details_search_key(current.email, current.company)
    current.updated_at = timezone.now()
    current.version = version
    current.save()
    if changed & SEARCHED:
        search_index_refresh([current.pk])
    if new_number and new_number != old_number:
        number_moved(holder_id=current.pk, old=old_number, new=new_number)
    activity_record(actor=actor, action="contacts.contact.updated", obj=current, changes=changes)
    return ContactOutcome(result=Result.UPDATED, contact=current, changes=changes)


# What a stale delete's conflict names when they changed after its base_version.
_DELETE_CHECKED = ("name", "phone", *DETAILS, "tags", "created_by", "lists")


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
        # Always a conflict (the field-level merge is for edits): conflicting_fields says what
        # changed since, for the phone to show.
        names = [*_DELETE_CHECKED, *(f"custom_fields.{key}" for key in current.custom_fields)]
        conflicting = fields_changed_since(
            current.field_versions, current.version, base_version, names
        )
        raise VersionConflict(current, conflicting, contact_to_dict(current))
    current.deleted_at = current.updated_at = timezone.now()
    current.version = version
    current.save(update_fields=["deleted_at", "updated_at", "version"])
    search_index_refresh([current.pk])
    activity_record(
        actor=actor,
        action="contacts.contact.deleted",
        obj=current,
        changes={"name": [current.name, None], "phone": [current.phone_normalized, None]},
    )
    return ContactOutcome(result=Result.DELETED, contact=current)


@transaction.atomic
def contact_restore(*, actor, contact: Contact) -> ContactOutcome:
    """A deleted contact back in the book, with a new version (phones that dropped it get it
    again) and its number's calls linked again. Unless another live contact holds its number
    now: one number, one contact, so DuplicatePhone names that one. Restoring a live contact
    changes nothing."""
    version = version_next(CONTACTS)
    current = Contact.objects.select_for_update().select_related("created_by").get(pk=contact.pk)
    if current.deleted_at is None:
        return ContactOutcome(result=Result.UPDATED, contact=current)
    holder = (
        Contact.live.select_related("created_by")
        .filter(phone_normalized=current.phone_normalized)
        .first()
    )
    if holder is not None:
        raise DuplicatePhone(holder, contact_to_dict(holder))
    current.deleted_at = None
    current.field_versions = {}  # every field is news to a phone that dropped it
    current.updated_at = timezone.now()
    current.version = version
    current.save(update_fields=["deleted_at", "field_versions", "updated_at", "version"])
    search_index_refresh([current.pk])
    numbers_live(numbers=[current.phone_normalized])
    activity_record(actor=actor, action="contacts.contact.restored", obj=current,
                    changes={"name": [None, current.name],
                             "phone": [None, current.phone_normalized]})  # fmt: skip
    return ContactOutcome(result=Result.UPDATED, contact=current)
