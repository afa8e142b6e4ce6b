"""Writing many rows at once with COPY, addressed by the model's own field names.

A multi-row ``INSERT`` with thousands of bound parameters is slow to build twice over (Django
prepares every value, psycopg then converts the whole statement client-side); COPY streams the
rows as they are. Callers hand over *records* (model instances, or small typed records whose
attributes are named like the model's fields, ``created_by_id`` for a foreign key) and name the
fields the records carry; table and column names come from the model's ``_meta``, never from a
hand-written list. No model instances are required, no signals are sent, no ``save()`` runs.

``copy_records`` appends to a model's table. ``Staging`` is for writes that must be decided by
the database row by row (``ON CONFLICT``, a lookup per row): COPY into a session-private table
shaped like some of the model's columns, then one set-based statement from there.
"""

import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from django.db import connection, models


def _fields(model: type[models.Model], names: Sequence[str]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in names]


def _getter(names: Sequence[str]):
    """record -> tuple of its values for ``names`` (attrgetter: one C call per record)."""
    get = attrgetter(*names)
    return get if len(names) > 1 else lambda record: (get(record),)


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """COPY ``rows`` (tuples in ``columns`` order) into ``table`` in the current transaction.
    ``table`` is SQL as written by the caller (a staging table, say); ``columns`` are quoted
    here. psycopg adapts the values (text, numbers, UUIDs, datetimes, None)."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,  # psycopg's cursor
    ):
        for row in rows:
            copy.write_row(row)


def copy_records(
    model: type[models.Model],
    records: Iterable[Any],
    *,
    fields: Sequence[str],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Append one row per record to ``model``'s table in the current transaction.

    ``fields``: the attributes every record carries (field names or attnames); ``constants``:
    fields with one value for every row (a batch's actor, action or time). No records, no
    statement."""
    records = iter(records)
    first = next(records, None)
    if first is None:
        return
    constants = dict(constants or {})
    columns = [f.column for f in _fields(model, [*fields, *constants])]
    json_encoders = {
        i: f.encoder
        for i, f in enumerate(_fields(model, fields))
        if isinstance(f, models.JSONField)
    }
    tail = tuple(
        json.dumps(value, cls=f.encoder) if isinstance(f, models.JSONField) else value
        for f, value in zip(_fields(model, list(constants)), constants.values(), strict=True)
    )
    get = _getter(fields)

    def rows():
        for record in itertools.chain((first,), records):
            row = get(record)
            if json_encoders:
                row = list(row)
                for i, encoder in json_encoders.items():
                    row[i] = json.dumps(row[i], cls=encoder)
            yield (*row, *tail)

    copy_rows(connection.ops.quote_name(model._meta.db_table), columns, rows())


class Staging:
    """A temporary table with some of ``model``'s columns (their types read from the model's
    own table), private to the database session.

    Created on first use in a session and emptied at every commit; ``take`` empties it as it
    reads (``DELETE ... RETURNING``), so two batches in one transaction never see each other's
    rows. Its name carries a digest of its columns: a deploy that changes them gets a new
    table, never a stale one. A pooler that resets sessions (DISCARD ALL) only makes the next
    batch create it again.
    """

    def __init__(self, model: type[models.Model], fields: Sequence[str]):
        quote = connection.ops.quote_name
        self.model = model
        self.fields = tuple(fields)
        self.columns = [f.column for f in _fields(model, fields)]
        table = model._meta.db_table
        digest = hashlib.sha1(",".join(self.columns).encode()).hexdigest()[:8]
        self.table = f"pg_temp.{quote(f'{table}_stage_{digest}')}"
        listed = ", ".join(quote(c) for c in self.columns)
        self._create = (
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.table} ON COMMIT DELETE ROWS "
            f"AS SELECT {listed} FROM {quote(table)} WITH NO DATA"
        )
        self._get = _getter(self.fields)

    def load(self, records: Iterable[Any]) -> None:
        """COPY the records (attributes named as ``fields``) into the staging table."""
        with connection.cursor() as cursor:
            cursor.execute(self._create)
        copy_rows(self.table, self.columns, map(self._get, records))

    def insert_new_sql(self, *, computed: Mapping[str, str]) -> str:
        """``INSERT`` the staged rows into the model's table, skipping rows that conflict with
        a unique constraint, ``RETURNING`` the primary keys inserted.

        ``computed`` gives SQL for the model's other fields (attname -> expression; ``%s`` for
        a parameter, ``s.<column>`` for the staged row)."""
        quote = connection.ops.quote_name
        meta = self.model._meta
        extra = _fields(self.model, list(computed))
        target = ", ".join(quote(c) for c in [*self.columns, *(f.column for f in extra)])
        source = ", ".join([*(f"s.{quote(c)}" for c in self.columns), *computed.values()])
        return (
            f"WITH s AS (DELETE FROM {self.table} RETURNING *) "
            f"INSERT INTO {quote(meta.db_table)} ({target}) SELECT {source} FROM s "
            f"ON CONFLICT DO NOTHING RETURNING {quote(meta.db_table)}.{quote(meta.pk.column)}"
        )
