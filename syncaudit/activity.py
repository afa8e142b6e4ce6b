"""The one function every path calls to record a mutation that matters."""

from typing import Any

from django.db import connection, models
from django.utils import timezone

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


_BULK_COLUMNS = "actor_id, action, object_type, object_id, object_repr, changes, created_at"


def activity_record_many(*, actor, action: str, rows: list[tuple[models.Model, dict]]) -> None:
    """Bulk variant for imports and batch uploads: one multi-row INSERT per 1,000 rows of
    plain values (building Activity instances cost more than the contacts' own insert)."""
    if not rows:
        return
    fields = {f.name: f for f in Activity._meta.concrete_fields}
    actor_id = fields["actor"].get_db_prep_save(
        actor.pk if getattr(actor, "pk", None) else None, connection
    )
    now = fields["created_at"].get_db_prep_save(timezone.now(), connection)
    as_json = fields["changes"].get_db_prep_save
    table = connection.ops.quote_name(Activity._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            params: list = []
            for obj, changes in chunk:
                clean = {k: v for k, v in changes.items() if k not in _NOISE}
                params += [
                    actor_id,
                    action,
                    obj._meta.model_name,
                    str(obj.pk),
                    str(obj)[:200],
                    as_json(clean, connection),
                    now,
                ]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            sql = f"INSERT INTO {table} ({_BULK_COLUMNS}) VALUES {values}"  # noqa: S608 - no input
            cursor.execute(sql, params)
