"""The one function every path calls to record a mutation that matters."""

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils import timezone

from crm.bulk import bulk_copy
from syncaudit.models import Activity

# Sync bookkeeping is not news to a person reading the history.
_NOISE = {"version", "updated_at", "name_search"}


def activity_record(
    *, actor, action: str, obj: models.Model | None = None, changes: dict[str, Any] | None = None
) -> Activity:
    clean = {k: v for k, v in (changes or {}).items() if k not in _NOISE}
    return Activity.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=clean,
    )


_BULK_COLUMNS = (
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "created_at",
)


def activity_record_many(*, actor, action: str, rows: list[tuple[models.Model, dict]]) -> None:
    """Bulk variant for imports and batch uploads: one row per (object, changes)."""
    activity_record_rows(
        actor=actor,
        action=action,
        rows=((obj._meta.model_name, str(obj.pk), str(obj), changes) for obj, changes in rows),
    )


def activity_record_rows(*, actor, action: str, rows: Iterable[tuple[str, str, str, dict]]) -> None:
    """activity_record_many for callers that hold plain values, not model instances: rows of
    (object_type, object_id, object_repr, changes). Streamed with crm.bulk.bulk_copy (COPY on
    PostgreSQL): a multi-row INSERT of thousands of bound parameters cost more to build than
    the rows cost to store."""
    rows = list(rows)
    if not rows:
        return
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    now = timezone.now()
    bulk_copy(
        Activity,
        _BULK_COLUMNS,
        (
            (
                actor_id,
                action,
                object_type,
                object_id,
                object_repr[:200],
                {k: v for k, v in changes.items() if k not in _NOISE},
                now,
            )
            for object_type, object_id, object_repr, changes in rows
        ),
    )
