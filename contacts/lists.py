"""Contact lists and their members.

A list is a record phones keep (the lists feed: names, descriptions, deletions). Membership is
kept twice, by these functions only and in one transaction: ``ListMembership`` rows say who
added a contact and when; ``Contact.lists`` holds the ids for the contacts feed and the
``list=`` filter. A membership change is a change of the contact (its ``lists``): it gets a
new version, so phones learn of it, and an activity row.

Membership changes are set-based (one INSERT or DELETE, one UPDATE of the contacts), so the
bulk operations reuse them for thousands of contacts at once.
"""

import uuid
from collections.abc import Sequence

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.errors import ContactInvalid
from contacts.models import Contact, ContactList, ListMembership
from contacts.services import text_clean
from ledger.activity import ActivityEntry, activity_record, activity_record_bulk
from ledger.versioning import CONTACTS, LISTS, version_next

LIST_NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
MEMBERS_MAX = 10_000  # contact ids in one request


def _clean(*, name=None, description=None, errors: dict) -> dict:
    clean = {}
    if name is not None:
        try:
            clean["name"] = text_clean(name, max_length=LIST_NAME_MAX_LENGTH)
            if not clean["name"]:
                raise ValueError("A name is required.")
        except ValueError as exc:
            errors["name"] = [str(exc)]
    if description is not None:
        try:
            clean["description"] = text_clean(
                description, max_length=DESCRIPTION_MAX_LENGTH, multiline=True
            )
        except ValueError as exc:
            errors["description"] = [str(exc)]
    return clean


NAME_TAKEN = "A list with this name exists (names are compared without case)."


def list_name_taken(name: str, *, but=None) -> bool:
    others = ContactList.live.annotate(key=Lower("name")).filter(key=name.lower())
    if but is not None:
        others = others.exclude(pk=but.pk)
    return others.exists()


def _saved(contact_list: ContactList) -> None:
    """Save, turning a lost race for the name into the same field error as the check."""
    try:
        with transaction.atomic():
            contact_list.save()
    except IntegrityError:
        raise ContactInvalid({"name": [NAME_TAKEN]}) from None


@transaction.atomic
def list_create(*, actor, name: str, description: str = "") -> ContactList:
    errors = {}
    clean = _clean(name=name, description=description, errors=errors)
    if not errors and list_name_taken(clean["name"]):
        errors["name"] = [NAME_TAKEN]
    if errors:
        raise ContactInvalid(errors)
    now = timezone.now()
    contact_list = ContactList(
        **clean, created_by=actor, created_at=now, updated_at=now, version=version_next(LISTS)
    )
    _saved(contact_list)
    activity_record(
        actor=actor, action="contacts.list.created", obj=contact_list,
        changes={"name": [None, contact_list.name]},
    )  # fmt: skip
    return contact_list


@transaction.atomic
def list_update(*, actor, contact_list: ContactList, name=None, description=None) -> ContactList:
    errors = {}
    clean = _clean(name=name, description=description, errors=errors)
    current = ContactList.live.select_for_update().get(pk=contact_list.pk)
    if "name" in clean and list_name_taken(clean["name"], but=current):
        errors["name"] = [NAME_TAKEN]
    if errors:
        raise ContactInvalid(errors)
    changes = {k: [getattr(current, k), v] for k, v in clean.items() if getattr(current, k) != v}
    if not changes:
        return current
    for key, value in clean.items():
        setattr(current, key, value)
    current.updated_at = timezone.now()
    current.version = version_next(LISTS)
    _saved(current)
    activity_record(actor=actor, action="contacts.list.updated", obj=current, changes=changes)
    return current


@transaction.atomic
def list_delete(*, actor, contact_list: ContactList) -> None:
    """A tombstone in the lists feed; the contacts stay, without this list."""
    current = ContactList.live.select_for_update().filter(pk=contact_list.pk).first()
    if current is None:  # deleted already: a retried request
        return
    members = list(ListMembership.objects.filter(list=current).values_list("contact_id", flat=True))
    removed = members_remove(actor=actor, contact_list=current, contact_ids=members)
    current.deleted_at = current.updated_at = timezone.now()
    current.version = version_next(LISTS)
    current.save(update_fields=["deleted_at", "updated_at", "version"])
    activity_record(
        actor=actor, action="contacts.list.deleted", obj=current,
        changes={"name": [current.name, None], "members": len(removed)},
    )  # fmt: skip


# --- membership: set-based -----------------------------------------------------------------

_ADD = """
INSERT INTO {membership} (list_id, contact_id, added_by_id, added_at)
SELECT %(list)s, c.id, %(actor)s, %(now)s FROM {contact} c
WHERE c.id = ANY(%(ids)s) AND c.deleted_at IS NULL
ON CONFLICT (list_id, contact_id) DO NOTHING
RETURNING contact_id
"""
_REMOVE = """
DELETE FROM {membership} WHERE list_id = %(list)s AND contact_id = ANY(%(ids)s)
RETURNING contact_id
"""
# The contacts whose membership changed: their ``lists``, a new version, and field_versions
# (contacts/merge.py: the floor pinned to the old version, then ``lists`` stamped).
_RESTAMP = """
UPDATE {contact} SET
  lists = {lists},
  version = %(version)s,
  updated_at = %(now)s,
  field_versions = jsonb_build_object('*', version) || field_versions
                   || jsonb_build_object('lists', %(version)s)
WHERE id = ANY(%(ids)s)
RETURNING id, name, phone_normalized
"""


def _sql(template: str, **extra) -> str:
    return template.format(
        membership=ListMembership._meta.db_table, contact=Contact._meta.db_table, **extra
    )


def _restamp(*, actor, contact_list, ids, version: int, lists_sql: str, action: str) -> None:
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(_RESTAMP, lists=lists_sql),
            {"list": contact_list.pk, "ids": ids, "version": version, "now": timezone.now()},
        )
        rows = cursor.fetchall()
    change = {"lists": contact_list.name, "list_id": str(contact_list.pk)}
    activity_record_bulk(
        actor=actor,
        action=action,
        entries=(
            ActivityEntry(Contact._meta.model_name, str(pk), f"{name} ({number})", change)
            for pk, name, number in rows
        ),
    )


def members_add(
    *, actor, contact_list: ContactList, contact_ids: Sequence, version: int | None = None
) -> list[uuid.UUID]:
    """Put the live contacts among ``contact_ids`` on the list; returns those that were not
    on it already. Must run inside the caller's transaction.

    The contacts' version is taken first, before the INSERT's foreign keys share-lock their
    rows: a contact edit holds the version lock while it waits for its row, so taking them in
    the other order could deadlock with it. A caller that holds a version already (a bulk
    operation) passes it."""
    version = version_next(CONTACTS) if version is None else version
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(_ADD),
            {
                "list": contact_list.pk,
                "actor": actor.pk if actor is not None else None,
                "now": timezone.now(),
                "ids": list(contact_ids),
            },
        )
        added = [row[0] for row in cursor.fetchall()]
    _restamp(
        actor=actor, contact_list=contact_list, ids=added, version=version,
        lists_sql="array_append(array_remove(lists, %(list)s), %(list)s)",
        action="contacts.list.member_added",
    )  # fmt: skip
    return added


def members_remove(
    *, actor, contact_list: ContactList, contact_ids: Sequence, version: int | None = None
) -> list[uuid.UUID]:
    """Take ``contact_ids`` off the list; returns those that were on it (the version first,
    as in members_add)."""
    version = version_next(CONTACTS) if version is None else version
    with connection.cursor() as cursor:
        cursor.execute(_sql(_REMOVE), {"list": contact_list.pk, "ids": list(contact_ids)})
        removed = [row[0] for row in cursor.fetchall()]
    _restamp(
        actor=actor, contact_list=contact_list, ids=removed, version=version,
        lists_sql="array_remove(lists, %(list)s)",
        action="contacts.list.member_removed",
    )  # fmt: skip
    return removed


def _ids_checked(contact_ids) -> list[uuid.UUID]:
    """The ids named, each a live contact; otherwise a field error naming the others."""
    ids = list(dict.fromkeys(contact_ids))
    if len(ids) > MEMBERS_MAX:
        raise ContactInvalid({"contact_ids": [f"At most {MEMBERS_MAX} ids in one request."]})
    live = set(Contact.live.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [str(pk) for pk in ids if pk not in live]
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise ContactInvalid({"contact_ids": [f"No such live contact: {shown}"]})
    return ids


@transaction.atomic
def list_members_add(*, actor, contact_list: ContactList, contact_ids) -> dict[str, int]:
    """POST /lists/{id}/contacts: all or nothing (an unknown id adds none)."""
    ids = _ids_checked(contact_ids)
    current = ContactList.live.select_for_update().get(pk=contact_list.pk)
    added = members_add(actor=actor, contact_list=current, contact_ids=ids)
    return {"added": len(added), "already": len(ids) - len(added)}


@transaction.atomic
def list_members_remove(*, actor, contact_list: ContactList, contact_ids) -> dict[str, int]:
    """POST /lists/{id}/contacts/remove: ids not on the list are simply not removed."""
    ids = list(dict.fromkeys(contact_ids))
    if len(ids) > MEMBERS_MAX:
        raise ContactInvalid({"contact_ids": [f"At most {MEMBERS_MAX} ids in one request."]})
    current = ContactList.live.select_for_update().get(pk=contact_list.pk)
    removed = members_remove(actor=actor, contact_list=current, contact_ids=ids)
    return {"removed": len(removed)}
