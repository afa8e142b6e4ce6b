"""Server-side prepared statements (PREPARE/EXECUTE) for the few statements a client repeats a
thousand times. (crm.db.prepared is another thing: SQL compiled once from the ORM, still planned
by PostgreSQL every time.)

Django turns psycopg's prepared statements off (a transaction-mode pooler such as PgBouncer
would send an EXECUTE to a server that never saw the PREPARE), and it binds parameters on the
client, so PostgreSQL parses and plans every statement anew. For a CardDAV multiget of ten
cards (bench scenario 2: 2,000 of them in a full sync) planning took longer than running the
query: 0.43 ms a query, against 0.17 ms for an EXECUTE of the same statement prepared.

``execute`` runs a statement as ``EXECUTE name(...)`` once this connection has prepared it;
the first time, ``PREPARE`` and ``EXECUTE`` go together in one round trip (one query). It
falls back to the plain statement, for good in this process, the first time the server does
not know the statement (or already knows it): a pooler between us and PostgreSQL. Inside an
atomic block it always runs the plain statement, so that a failed EXECUTE cannot abort the
caller's transaction.
"""

import re
from weakref import WeakKeyDictionary

from django.db import ProgrammingError, connection
from psycopg import errors

_PLACEHOLDER = re.compile(r"%s")
_prepared: WeakKeyDictionary = WeakKeyDictionary()  # psycopg connection -> names prepared on it
_enabled = True


def _numbered(sql: str) -> str:
    counter = iter(range(1, 1000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def execute(cursor, name: str, types: str, sql: str, params: list) -> None:
    """Run ``sql`` (``%s`` placeholders) with ``params`` on ``cursor`` (a Django cursor of the
    default connection), through the prepared statement ``name`` (its parameter ``types``,
    e.g. ``"uuid[], text[]"``) where it can. The rows are read from ``cursor`` as usual."""
    global _enabled
    if not _enabled or connection.in_atomic_block:
        cursor.execute(sql, params)
        return
    raw = connection.connection
    names = _prepared.setdefault(raw, set())
    call = f"EXECUTE {name}({', '.join(['%s'] * len(params))})"
    try:
        if name in names:
            cursor.execute(call, params)
            return
        cursor.execute(f"PREPARE {name}({types}) AS {_numbered(sql)}; {call}", params)
        cursor.nextset()  # the EXECUTE's rows, after the PREPARE's status
        names.add(name)
    except ProgrammingError as exc:
        if not isinstance(
            exc.__cause__, errors.InvalidSqlStatementName | errors.DuplicatePreparedStatement
        ):
            raise
        _enabled = False
        cursor.execute(sql, params)
