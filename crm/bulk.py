"""Writing many plain rows at once: COPY on PostgreSQL, executemany elsewhere.

A multi-row ``INSERT`` with thousands of bound parameters is slow to build twice over (Django
prepares every value, psycopg then converts the whole statement client-side); COPY streams the
rows as they are. Rows are tuples of Python values in ``columns`` order (column names as in
the database, e.g. ``actor_id``); no model instances, no signals, no ``save()``.
"""

import json
from collections.abc import Iterable, Sequence

from django.db import connection, models


def bulk_copy(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Append ``rows`` to ``model``'s table in the current transaction."""
    by_column = {f.column: f for f in model._meta.concrete_fields}
    fields = [by_column[c] for c in columns]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg adapts UUIDs, datetimes and text itself; JSON goes as its text.
            json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
            # cursor.cursor is psycopg's own cursor under Django's wrapper.
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    if json_at:
                        row = list(row)
                        for i in json_at:
                            row[i] = json.dumps(row[i], cls=fields[i].encoder)
                    copy.write_row(row)
            return
        prepared = [
            [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
            for row in rows
        ]
        if prepared:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - names are ours
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
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
