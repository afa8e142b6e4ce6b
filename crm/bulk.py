"""Writing many plain rows at once: COPY on PostgreSQL, executemany elsewhere.

A multi-row ``INSERT`` with thousands of bound parameters is slow to build twice over (Django
prepares every value, psycopg then converts the whole statement client-side); COPY streams the
rows as they are. Rows are tuples of Python values in ``columns`` order (column names as in
the database, e.g. ``actor_id``); no model instances, no signals, no ``save()``.
"""

import gc
import json
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from django.db import connection, models


def bulk_copy(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Append ``rows`` to ``model``'s table in the current transaction."""
    by_column = {f.column: f for f in model._meta.concrete_fields}
    fields = [by_column[c] for c in columns]
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        # psycopg adapts UUIDs, datetimes and text itself; JSON goes as its text.
        json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]

        def adapted(rows):
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = json.dumps(row[i], cls=fields[i].encoder)
                yield row

        copy_rows(quote(model._meta.db_table), columns, adapted(rows))
        return
    prepared = [
        [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
        for row in rows
    ]
    if prepared:
        names = ", ".join(quote(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608 - names are ours
        with connection.cursor() as cursor:
            cursor.executemany(sql, prepared)


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """PostgreSQL only: COPY ``rows`` into ``table`` (any table, e.g. a temporary staging
    table; ``table`` is SQL as written by the caller, ``columns`` are quoted here) in the current
    transaction. Values are adapted by psycopg (text, numbers, UUIDs, datetimes, None)."""
    if connection.vendor != "postgresql":
        raise NotImplementedError("copy_rows() needs PostgreSQL; use bulk_copy() for models")
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {table} ({names}) FROM STDIN"
        ) as copy,  # cursor.cursor: psycopg's
    ):
        for row in rows:
            copy.write_row(row)


@contextmanager
def gc_paused():
    """Hold off Python's cyclic garbage collector for the length of a bulk operation.

    Reading thousands of rows allocates (and keeps, until the batch is written) tens of
    thousands of tuples, dicts and lists. Each allocation counts towards the collector's
    thresholds, so a batch sets off one full collection after another, and each of those walks
    every object of the process (the whole of Django included): measured, a third of an admin
    import request. Nothing is leaked: objects are still freed by reference counting as usual,
    the collector runs again on the first allocation after the block, and anything cyclic
    made meanwhile is collected then.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
