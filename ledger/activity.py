"""The one place every path records a mutation that matters: who did what, with a dotted
action name (``contacts.contact.replaced``)."""

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

from django.db import models
from django.utils import timezone

from crm.db.store import copy_records
from ledger.models import Activity

# Sync bookkeeping is not news to a person reading the history.
_NOISE = {"version", "updated_at", "name_search"}
_REPR_MAX = Activity._meta.get_field("object_repr").max_length


def _clean(changes: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (changes or {}).items() if k not in _NOISE}


def activity_record(
    *, actor, action: str, obj: models.Model | None = None, changes: dict[str, Any] | None = None
) -> Activity:
    return Activity.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:_REPR_MAX] if obj is not None else "",
        changes=_clean(changes),
    )


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    """One object's line of a bulk record (an import, a batch), for callers that hold plain
    values rather than model instances."""

    object_type: str
    object_id: str
    object_repr: str
    changes: dict


_ENTRY_FIELDS = tuple(f.name for f in fields(ActivityEntry))


def activity_record_bulk(*, actor, action: str, entries: Iterable[ActivityEntry]) -> None:
    """One activity row per entry, all with the same actor, action and time, streamed with
    COPY: a multi-row INSERT of thousands of bound parameters cost more to build than the
    rows cost to store."""
    entries = [
        replace(e, object_repr=e.object_repr[:_REPR_MAX], changes=_clean(e.changes))
        for e in entries
    ]
    if not entries:
        return
    copy_records(
        Activity,
        entries,
        fields=_ENTRY_FIELDS,
        constants={
            "actor_id": actor.pk if getattr(actor, "pk", None) else None,
            "action": action,
            "created_at": timezone.now(),
        },
    )


# --- how the history reads to a person -----------------------------------------------------

_ACTION_WORDS = {
    "contacts.contact.created": "Contact created",
    "contacts.contact.replaced": "Replaced by an older record",
    "contacts.contact.updated": "Contact edited",
    "contacts.contact.deleted": "Contact deleted",
    "contacts.contact.restored": "Contact restored",
    "contacts.import.run": "Contacts imported",
    "contacts.import.undone": "Import undone",
    "contacts.list.member_added": "Put on a list",
    "contacts.list.member_removed": "Taken off a list",
    "calls.batch.ingested": "Calls uploaded",
    "dnc.entries.added": "Do-not-call numbers added",
    "dnc.entries.imported": "Do-not-call numbers imported",
    "dnc.entries.removed": "Do-not-call numbers removed",
    "dnc.entry.deleted": "Do-not-call number removed",
    "jobs.import.created": "File uploaded for import",
    "jobs.import.mapped": "Import columns mapped",
    "jobs.import.cancelled": "Import cancelled",
    "jobs.import.undone": "Import undone",
}


def activity_label(action: str) -> str:
    """An action name as a person reads it ("contacts.contact.created" -> "Contact
    created"); names without a label of their own read as their last two words."""
    if action in _ACTION_WORDS:
        return _ACTION_WORDS[action]
    words = " ".join(action.split(".")[-2:]).replace("_", " ")
    return words[:1].upper() + words[1:]
