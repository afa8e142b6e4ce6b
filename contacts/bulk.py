"""Bulk operations on contacts (managers and admins), and their undo.

One operation is one transaction and one version: every contact it changes gets that new
version, an activity row naming the operation, and a BulkChange row holding its values
before. The writes are set-based (one UPDATE for all the contacts; list membership through
contacts/lists.py), the new values computed by the same rules as single edits
(``tags_merged``). Undo restores the values before on every contact still at the version the
operation gave it; a contact changed since is reported and left as it is.
"""

import json
import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.http import QueryDict
from django.utils import timezone

from contacts.errors import ContactInvalid
from contacts.filters import ContactFilter
from contacts.lists import members_add, members_remove
from contacts.merge import FLOOR
from contacts.models import BulkAction, BulkChange, BulkOperation, Contact, ContactList
from contacts.searchindex import search_index_refresh
from contacts.selectors import contact_list
from contacts.services import TAGS_MAX, contact_clean_tags, tags_key, tags_merged
from crm.db.store import copy_records
from ledger.activity import ActivityEntry, activity_record_bulk
from ledger.numbers import numbers_live
from ledger.versioning import CONTACTS, version_next

IDS_MAX = 10_000
FILTER_MAX = 100_000  # contacts one filter may reach
CHANGED_SINCE = {"contact": ["Changed again since the operation; left as it is."]}
GONE = {"id": ["No such live contact."]}


class BulkRefused(ContactInvalid):
    """The operation as asked cannot run (bad action data, filter or ids): nothing changed."""


# --- what the operation reaches ----------------------------------------------------------


def _filter_query(criteria) -> QueryDict:
    if not isinstance(criteria, dict):
        raise BulkRefused({"filter": ["An object of the list endpoint's query parameters."]})
    known = set(ContactFilter.base_filters)
    unknown = sorted(set(criteria) - known)
    if unknown:
        raise BulkRefused({"filter": [f"Unknown parameter(s): {', '.join(unknown)}."]})
    query = QueryDict(mutable=True)
    for key, value in criteria.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int | bool) and not isinstance(v, float) for v in values):
            raise BulkRefused({f"filter.{key}": ["A string (a list of them where repeatable)."]})
        query.setlist(key, [str(v).lower() if isinstance(v, bool) else str(v) for v in values])
    return query


def bulk_targets(*, contact_ids=None, criteria=None) -> tuple[list[uuid.UUID], dict]:
    """The contacts an operation names: ``(ids, errors)``, errors per contact id that is not
    a live contact. By filter: every live contact the list endpoint would list with it."""
    if (contact_ids is None) == (criteria is None):
        raise BulkRefused({"contact_ids": ["Name the contacts by contact_ids or by filter."]})
    if criteria is not None:
        found = ContactFilter(data=_filter_query(criteria), queryset=contact_list())
        if not found.is_valid():
            raise BulkRefused({f"filter.{k}": v for k, v in found.errors.items()})
        ids = list(found.qs.order_by().values_list("pk", flat=True)[: FILTER_MAX + 1])
        if len(ids) > FILTER_MAX:
            raise BulkRefused({"filter": [f"Reaches more than {FILTER_MAX} contacts; narrow it."]})
        return ids, {}
    ids = list(dict.fromkeys(contact_ids))
    if len(ids) > IDS_MAX:
        raise BulkRefused({"contact_ids": [f"At most {IDS_MAX} ids."]})
    live = set(Contact.live.filter(pk__in=ids).values_list("pk", flat=True))
    return [pk for pk in ids if pk in live], {str(pk): GONE for pk in ids if pk not in live}


# --- the data each action needs ------------------------------------------------------------


def _action_data(action: str, data) -> dict:
    """The action's argument, checked: tags, a live list, or an active user."""
    data = data if isinstance(data, dict) else {}
    if action in (BulkAction.ADD_TAGS, BulkAction.REMOVE_TAGS):
        try:
            tags = contact_clean_tags(data.get("tags"))
        except ValueError as exc:
            raise BulkRefused({"data.tags": [str(exc)]}) from None
        if not tags:
            raise BulkRefused({"data.tags": ["Name at least one tag."]})
        return {"tags": tags}
    if action in (BulkAction.ADD_TO_LIST, BulkAction.REMOVE_FROM_LIST):
        found = _live(ContactList.live, data.get("list"))
        if found is None:
            raise BulkRefused({"data.list": ["No such contact list."]})
        return {"list": found}
    if action == BulkAction.SET_OWNER:
        owner = _live(get_user_model().objects.filter(is_active=True), data.get("owner"))
        if owner is None:
            raise BulkRefused({"data.owner": ["No such active user."]})
        return {"owner": owner}
    if action == BulkAction.DELETE:
        return {}
    raise BulkRefused({"action": [f"One of: {', '.join(BulkAction.values)}."]})


def _live(queryset, pk):
    try:
        return queryset.filter(pk=uuid.UUID(str(pk))).first()
    except ValueError:
        return None


# --- running -------------------------------------------------------------------------------

_LOCK = """
SELECT id, name, phone_normalized, tags, created_by_id, lists, version, deleted_at
FROM {contact} WHERE id = ANY(%s) {live} ORDER BY id FOR UPDATE
"""
# The new values of each changed contact, and the merge stamp (contacts/merge.py).
_WRITE = """
UPDATE {contact} c SET {assign},
  version = %(version)s,
  updated_at = %(now)s,
  field_versions = jsonb_build_object('{floor}', c.version) || c.field_versions
                   || jsonb_build_object(%(field)s, %(version)s)
FROM jsonb_to_recordset(%(rows)s::jsonb) AS s(id uuid, tags varchar[], tags_key varchar[],
                                               owner uuid, deleted boolean)
WHERE c.id = s.id
"""
_ASSIGN = {
    "tags": "tags = s.tags, tags_key = s.tags_key",
    "created_by": "created_by_id = s.owner",
    "deleted": "deleted_at = CASE WHEN s.deleted THEN %(now)s::timestamptz END",
}


def _sql(template: str, **extra) -> str:
    return template.format(contact=Contact._meta.db_table, floor=FLOOR, **extra)


def _locked(ids, *, live_only: bool = True) -> list[dict]:
    """The contacts (the live ones, or deleted ones too), locked in id order."""
    live = "AND deleted_at IS NULL" if live_only else ""
    with connection.cursor() as cursor:
        cursor.execute(_sql(_LOCK, live=live), [list(ids)])
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _write(field: str, rows: list[dict], version: int) -> None:
    """One UPDATE of every changed contact: ``rows`` are {"id", <the field's new value>}."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(_WRITE, assign=_ASSIGN[field]),
            {
                "rows": json.dumps(rows, default=str),
                "version": version,
                "now": timezone.now(),
                "field": field,
            },
        )
    if field == "deleted":  # deleted contacts leave the search index, restored ones return
        search_index_refresh(row["id"] for row in rows)


def _plan(action: str, args: dict, row: dict):
    """``(field, before, after)`` for one contact, or None if it is as asked already."""
    if action in (BulkAction.ADD_TAGS, BulkAction.REMOVE_TAGS):
        edit = {"add": args["tags"]} if action == BulkAction.ADD_TAGS else {"remove": args["tags"]}
        after = tags_merged(row["tags"], **edit)
        return None if after == row["tags"] else ("tags", row["tags"], after)
    if action == BulkAction.SET_OWNER:
        before, after = str(row["created_by_id"]), str(args["owner"].pk)
        return None if before == after else ("created_by", before, after)
    if action == BulkAction.DELETE:
        return ("deleted", False, True)
    on_list = args["list"].pk in row["lists"]
    if on_list == (action == BulkAction.ADD_TO_LIST):
        return None
    return ("lists", on_list, not on_list)


def _value_row(pk, field: str, value) -> dict:
    if field == "tags":
        return {"id": str(pk), "tags": value, "tags_key": tags_key(value)}
    if field == "created_by":
        return {"id": str(pk), "owner": value}
    return {"id": str(pk), "deleted": value}


def _apply(*, actor, action: str, args: dict, plans: dict, version: int) -> set:
    """Write ``plans`` (contact id -> (field, before, after)); returns the ids changed."""
    if action in (BulkAction.ADD_TO_LIST, BulkAction.REMOVE_FROM_LIST):
        adding = {pk for pk, (_, _, after) in plans.items() if after}
        removing = set(plans) - adding
        done = set()
        if adding:
            done |= set(members_add(actor=actor, contact_list=args["list"],
                                    contact_ids=list(adding), version=version))  # fmt: skip
        if removing:
            done |= set(members_remove(actor=actor, contact_list=args["list"],
                                       contact_ids=list(removing), version=version))  # fmt: skip
        return done
    by_field: dict[str, list[dict]] = {}
    for pk, (field, _, after) in plans.items():
        by_field.setdefault(field, []).append(_value_row(pk, field, after))
    for field, rows in by_field.items():
        _write(field, rows, version)
    return set(plans)


def _record(*, actor, operation: BulkOperation, action_name: str, rows: dict, plans: dict):
    activity_record_bulk(
        actor=actor,
        action=action_name,
        entries=(
            ActivityEntry(
                Contact._meta.model_name,
                str(pk),
                f"{rows[pk]['name']} ({rows[pk]['phone_normalized']})",
                {"operation": str(operation.pk), field: [before, after]},
            )
            for pk, (field, before, after) in plans.items()
        ),
    )


def _arguments(args: dict) -> dict:
    """What the operation was asked, as stored (ids, not instances)."""
    return {key: str(value.pk) if hasattr(value, "pk") else value for key, value in args.items()}


@transaction.atomic
def bulk_run(*, actor, action: str, data=None, contact_ids=None, criteria=None) -> BulkOperation:
    """POST /contacts/bulk. Raises BulkRefused (nothing changed) for bad action data, filter
    or too many ids; ids that are not live contacts are the answer's per-contact errors."""
    args = _action_data(action, data)
    ids, errors = bulk_targets(contact_ids=contact_ids, criteria=criteria)
    version = version_next(CONTACTS)  # before the row locks, as every contact writer
    rows = {row["id"]: row for row in _locked(ids)}
    for pk in ids:
        if pk not in rows:  # deleted between the check and the lock
            errors[str(pk)] = GONE
    plans = {pk: plan for pk, row in rows.items() if (plan := _plan(action, args, row))}
    for pk, (field, _, after) in list(plans.items()):
        if field == "tags" and len(after) > TAGS_MAX:  # the rule of single edits
            plans.pop(pk)
            errors[str(pk)] = {"tags": [f"At most {TAGS_MAX} tags."]}
    changed = _apply(actor=actor, action=action, args=args, plans=plans, version=version)
    plans = {pk: plan for pk, plan in plans.items() if pk in changed}
    operation = BulkOperation.objects.create(
        action=action,
        data=_arguments(args),
        actor=actor,
        processed=len(rows) + len(errors),
        succeeded=len(rows) - sum(1 for key in errors if uuid.UUID(key) in rows),
        failed=len(errors),
        errors=errors,
    )
    copy_records(
        BulkChange,
        (
            _Change(operation.pk, pk, {"value": before}, version)
            for pk, (_, before, _) in plans.items()
        ),
        fields=("operation_id", "contact_id", "before", "version"),
    )
    _record(actor=actor, operation=operation, action_name=f"contacts.bulk.{action}",
            rows=rows, plans=plans)  # fmt: skip
    return operation


@dataclass(frozen=True, slots=True)
class _Change:
    """A BulkChange row as COPY writes it (no model instance for each of 10,000)."""

    operation_id: uuid.UUID
    contact_id: uuid.UUID
    before: dict
    version: int


_REVERSED = {
    BulkAction.ADD_TO_LIST: BulkAction.REMOVE_FROM_LIST,
    BulkAction.REMOVE_FROM_LIST: BulkAction.ADD_TO_LIST,
}


@transaction.atomic
def bulk_undo(*, actor, operation: BulkOperation) -> dict:
    """POST /contacts/bulk/{id}/undo: the values before, back on every contact the operation
    changed and nobody changed since. Undoing twice answers the first undo again."""
    operation = BulkOperation.objects.select_for_update().get(pk=operation.pk)
    if operation.undone_at is not None:
        return operation.undo_result
    changes = list(BulkChange.objects.filter(operation=operation).values_list(
        "contact_id", "before", "version"))  # fmt: skip
    version = version_next(CONTACTS)
    current = {row["id"]: row for row in _locked([pk for pk, _, _ in changes], live_only=False)}
    errors, plans = {}, {}
    field = {BulkAction.ADD_TAGS: "tags", BulkAction.REMOVE_TAGS: "tags",
             BulkAction.SET_OWNER: "created_by", BulkAction.DELETE: "deleted"}.get(
        operation.action, "lists")  # fmt: skip
    for pk, before, stamped in changes:
        row = current.get(pk)
        if row is None or row["version"] != stamped:
            errors[str(pk)] = CHANGED_SINCE
            continue
        value = before["value"]
        if field == "created_by":
            after = str(row["created_by_id"])
        elif field == "tags":
            after = row["tags"]
        else:
            after = not value
        plans[pk] = (field, after, value)
    if field == "deleted":
        _taken(plans, current, errors)
    args = {}
    action = operation.action
    if field == "lists":
        args["list"] = ContactList.live.filter(pk=operation.data["list"]).first()
        action = _REVERSED[operation.action]
        if args["list"] is None:  # deleted since: nothing to put back on it
            errors.update({str(pk): CHANGED_SINCE for pk in plans})
            plans = {}
    changed = _apply(actor=actor, action=action, args=args, plans=plans, version=version)
    if field == "deleted":
        numbers_live(numbers=[current[pk]["phone_normalized"] for pk in changed])
    plans = {pk: plan for pk, plan in plans.items() if pk in changed}
    _record(actor=actor, operation=operation, action_name="contacts.bulk.undo",
            rows=current, plans=plans)  # fmt: skip
    result = {
        "id": str(operation.pk),
        "action": operation.action,
        "processed": len(changes),
        "succeeded": len(changed),
        "failed": len(errors),
        "errors": errors,
    }
    operation.undone_at, operation.undone_by, operation.undo_result = timezone.now(), actor, result
    operation.save(update_fields=["undone_at", "undone_by", "undo_result"])
    return result


def _taken(plans: dict, current: dict, errors: dict) -> None:
    """A deleted contact whose number another live contact holds now cannot come back."""
    numbers = {current[pk]["phone_normalized"]: pk for pk in plans}
    held = Contact.live.filter(phone_normalized__in=list(numbers)).values_list(
        "phone_normalized", flat=True
    )
    for number in held:
        pk = numbers[number]
        plans.pop(pk)
        errors[str(pk)] = {"phone": ["Another live contact holds this number now."]}


def bulk_answer(operation: BulkOperation) -> dict:
    return {
        "id": str(operation.pk),
        "action": operation.action,
        "processed": operation.processed,
        "succeeded": operation.succeeded,
        "failed": operation.failed,
        "errors": operation.errors,
    }
