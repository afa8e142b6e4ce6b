"""A ``values()`` query built once per process, then run as SQL: for the hottest list pages.

Building a page's SQL through the ORM costs more than PostgreSQL takes to answer it (~0.7 ms of
a 50-row contacts page, which the database serves in ~0.4 ms). A page whose query never varies
but for its LIMIT and OFFSET (the whole contact book, newest filters aside), for a list of ids
(a search's page) or for marked values (one contact's calls) keeps the ORM's SQL, compiled once
from the very queryset the code would otherwise run, and sends it with new parameters (through
crm.db.server_prepared: bound on the server, prepared once per connection). The rows are the
same dicts ``values()`` gives (a test compares them); anything else the paginator asks (counts,
estimates, windows) goes to the queryset itself.
"""

import threading
from collections.abc import Hashable

from django.db.models import Count, QuerySet, Window
from django.db.models.expressions import RawSQL

from crm.db import server_prepared

_IDS = ["<ids>"]  # where rows_by_ids' ids go in its compiled parameters
_compiled: dict[tuple, tuple[str, tuple]] = {}
_lock = threading.Lock()


def _sql(key: tuple, queryset) -> tuple[str, tuple]:
    """The SQL of ``queryset`` (or of what a callable builds), compiled once per ``key``."""
    hit = _compiled.get(key)
    if hit is None:
        if callable(queryset):
            queryset = queryset()
        hit = queryset.query.sql_with_params()
        with _lock:
            _compiled[key] = hit
    return hit


def _fetch(using: str, sql: str, params) -> list[dict]:
    with server_prepared.cursor(using) as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class PreparedRows:
    """``queryset`` (a values() queryset without LIMIT, always the same for ``key``), whose
    slices run its SQL compiled once. Everything else is the queryset's."""

    def __init__(self, queryset: QuerySet, key: tuple):
        self.queryset = queryset
        self.key = key

    def __getattr__(self, name):
        return getattr(self.queryset, name)

    def __getitem__(self, k):
        if not isinstance(k, slice) or k.step is not None or k.start is None or k.stop is None:
            return self.queryset[k]
        sql, params = _sql((self.queryset.db, *self.key), self.queryset)
        return _fetch(
            self.queryset.db, f"{sql} LIMIT %s OFFSET %s", [*params, k.stop - k.start, k.start]
        )


def rows_counted(
    build, key: tuple, values: dict, offset: int, limit: int, *, using: str = "default"
) -> tuple[list[dict], int]:
    """A page of the rows of the values() queryset ``build()`` returns, and how many rows it
    has in all (``COUNT(*) OVER ()``, 0 for a page past the end): its SQL compiled once per
    ``key``. ``build`` filters on marker values (``values``' keys, e.g. a uuid4 made for the
    purpose) that each run replaces with ``values``' values."""

    def counted():
        return build().annotate(_total=Window(Count("*")))

    sql, params = _sql((using, *key), counted)
    params = [values.get(p, p) if isinstance(p, Hashable) else p for p in params]
    rows = _fetch(using, f"{sql} LIMIT %s OFFSET %s", [*params, limit, offset])
    total = rows[0]["_total"] if rows else 0
    for row in rows:
        del row["_total"]
    return rows, total


def rows_by_ids(build, key: tuple, ids: list, *, using: str = "default") -> list[dict]:
    """The rows of the values() queryset ``build()`` returns whose primary key is in ``ids``,
    in no particular order: its SQL compiled once per ``key`` with the ids as one array
    parameter (``build`` runs only then)."""
    if not ids:
        return []

    def marked():
        return build().filter(pk__in=RawSQL("SELECT unnest(%s::uuid[])", [_IDS]))

    sql, params = _sql((using, *key), marked)
    # The one array parameter is the ids (the marker's placeholder list).
    params = tuple(list(ids) if p == _IDS else p for p in params)
    return _fetch(using, sql, params)
