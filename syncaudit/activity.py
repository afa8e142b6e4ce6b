"""The one function every path calls to record a mutation that matters."""

from typing import Any

from django.db import models

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


def activity_record_many(*, actor, action: str, rows: list[tuple[models.Model, dict]]) -> None:
    """Bulk variant for imports and batch uploads: one INSERT for all rows."""
    actor = actor if getattr(actor, "pk", None) else None
    Activity.objects.bulk_create(
        [
            Activity(
                actor=actor,
                action=action,
                object_type=obj._meta.model_name,
                object_id=str(obj.pk),
                object_repr=str(obj)[:200],
                changes={k: v for k, v in changes.items() if k not in _NOISE},
            )
            for obj, changes in rows
        ],
        batch_size=1000,
    )
