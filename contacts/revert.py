"""Taking back what an import did to the contact book (an import job's undo, jobs/imports.py).

The import recorded, for each contact it touched, what it did (created it, replaced its values,
put it on the job's list) and the contact's version right after. A contact whose version moved
on since has been changed by someone (or something) else: it is left as it is and reported.
Every other one is put back: a created contact becomes a tombstone (phones drop it), a replaced
one gets its values from before the import, a listed one leaves the list. All in one
transaction, with one new version, like any other contact write.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from contacts.lists import members_remove
from contacts.models import Contact, ContactList
from contacts.searchindex import search_index_refresh
from contacts.services import DETAILS, tags_key
from contacts.text import details_search_key, search_key
from ledger.activity import ActivityEntry, activity_record_bulk
from ledger.versioning import CONTACTS, version_next

# What a replaced contact gets back: the fields contacts_upsert's replace records as changes.
RESTORED = ("name", "created_by", "created_at", *DETAILS, "tags", "custom_fields")


@dataclass(frozen=True, slots=True)
class Touched:
    """What an import did to one contact: ``action`` "created", "replaced" or "listed",
    the contact's ``version`` after it, and (replaced) its values before."""

    contact_id: uuid.UUID
    action: str
    version: int
    previous: dict | None = None


@dataclass
class Reverted:
    deleted: int = 0
    restored: int = 0
    removed_from_list: int = 0
    left_ids: list[str] = field(default_factory=list)  # changed since: left as they are

    def as_dict(self) -> dict:
        return {
            "deleted": self.deleted,
            "restored": self.restored,
            "removed_from_list": self.removed_from_list,
            "left": len(self.left_ids),
            "left_ids": self.left_ids[:1000],
        }


def _merged(touched: Iterable[Touched]) -> tuple[dict, dict]:
    """One plan per contact: an import may touch a contact twice (its number in two batches):
    the first action says what it was before the import, the last version what it is after."""
    first: dict[uuid.UUID, Touched] = {}
    last: dict[uuid.UUID, int] = {}
    listed: dict[uuid.UUID, int] = {}
    for item in touched:
        if item.action == "listed":
            listed[item.contact_id] = item.version
            continue
        first.setdefault(item.contact_id, item)
        last[item.contact_id] = item.version
    plans = {pk: (item, last[pk]) for pk, item in first.items()}
    for pk, (item, _) in plans.items():
        if item.action == "created":
            listed.pop(pk, None)  # a tombstone: its list membership goes with it
        elif pk in listed:
            listed[pk] = last[pk]  # replaced and listed: compared with the last version
    return plans, listed


def _previous(contact: Contact, previous: dict) -> dict:
    values = {}
    for name in RESTORED:
        if name not in previous:
            continue
        value = previous[name]
        if name == "created_by":
            values["created_by_id"] = uuid.UUID(value)
        elif name == "created_at":
            values["created_at"] = datetime.fromisoformat(value)
        else:
            values[name] = value
    return values


@transaction.atomic
def contacts_import_revert(
    *, actor, touched: Iterable[Touched], contact_list: ContactList | None = None, source: str
) -> Reverted:
    """Undo an import's ``touched`` contacts (see the module's docstring). ``source`` names
    the import in each contact's history."""
    plans, listed = _merged(touched)
    report = Reverted()
    version = version_next(CONTACTS)  # before the row locks, as every contact writer
    ids = [*plans, *listed]
    current = {
        c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    now = timezone.now()
    # Listed contacts nobody changed since, judged before the plans below change versions.
    unchanged_listed = [
        pk for pk, stamped in listed.items()
        if (c := current.get(pk)) is not None and c.version == stamped and c.deleted_at is None
    ]  # fmt: skip
    deleted, restored, entries = [], [], []
    for pk, (item, stamped) in plans.items():
        contact = current.get(pk)
        if contact is None or contact.version != stamped or contact.deleted_at is not None:
            report.left_ids.append(str(pk))
            continue
        if item.action == "created":
            contact.deleted_at = now
            deleted.append(contact)
            changes = {"name": [contact.name, None], "phone": [contact.phone_normalized, None]}
        else:
            values = _previous(contact, item.previous or {})
            changes = {
                name: [str(getattr(contact, name)), str(value)]
                if name in ("created_by_id", "created_at")
                else [getattr(contact, name), value]
                for name, value in values.items()
                if getattr(contact, name) != value
            }
            for name, value in values.items():
                setattr(contact, name, value)
            contact.name_search = search_key(contact.name)
            contact.tags_key = tags_key(contact.tags)
            contact.details_search = details_search_key(contact.email, contact.company)
            contact.field_versions = {}  # every field changed at this version (contacts/merge.py)
            restored.append(contact)
        contact.version, contact.updated_at = version, now
        entries.append(
            ActivityEntry("contact", str(pk), str(contact), {"import": source, **changes})
        )
    Contact.objects.bulk_update(deleted, ["deleted_at", "version", "updated_at"], batch_size=1000)
    Contact.objects.bulk_update(
        restored,
        ["name", "name_search", "created_by_id", "created_at", *DETAILS, "tags", "tags_key",
         "custom_fields", "field_versions", "details_search", "version", "updated_at"],
        batch_size=1000,
    )  # fmt: skip
    search_index_refresh(contact.pk for contact in (*deleted, *restored))
    report.deleted, report.restored = len(deleted), len(restored)
    activity_record_bulk(
        actor=actor,
        action="contacts.import.undone",
        entries=iter(entries),
    )

    left = set(report.left_ids)
    if listed and contact_list is not None:
        removed = members_remove(
            actor=actor, contact_list=contact_list, contact_ids=unchanged_listed, version=version
        )
        report.removed_from_list = len(removed)
        kept = [str(pk) for pk in listed if pk not in set(unchanged_listed)]
    else:
        kept = [str(pk) for pk in listed]
    report.left_ids.extend(pk for pk in kept if pk not in left)
    return report
