"""Server-side prepared statements for the statements a client repeats a thousand times: a
list page's rows and its calls summed up, a search's ranked ids, the signed-in user (JWT or
app password), a CardDAV multiget's cards. (crm.db.prepared is another thing: SQL compiled once
from the ORM.)

Django turns psycopg's prepared statements off (a transaction-mode pooler such as PgBouncer
before 1.21 would send an EXECUTE to a server that never saw the PREPARE), and it binds
parameters on the client: PostgreSQL parses and plans every statement anew, and psycopg writes
every value into the SQL text first (a page's 50 ids quoted one by one). For a CardDAV multiget
of ten cards planning took longer than running the query (0.43 ms against 0.17 ms prepared);
a search page's statements run in about half the time prepared.

``cursor()`` gives Django's cursor wrapper around psycopg's server-binding cursor (PostgreSQL
receives the values apart from the SQL) which has psycopg prepare each statement on the
connection the first time it runs, then execute it by name (psycopg keeps the last 100 per
connection; a statement whose plan depends on its values is still planned for them when
PostgreSQL finds that cheaper). Its queries are counted, logged and wrapped like any other.
Statements run through it must be valid with server-side binding: ``%s`` only where
PostgreSQL takes a parameter, typed by a cast where it cannot tell.

Inside an atomic block nothing is prepared (a failed EXECUTE would abort the caller's
transaction). The first time the server does not know a statement psycopg prepared (a pooler
between us and PostgreSQL), preparing stops for good in this process and the statement runs
again unprepared.
"""

import contextlib

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor
from psycopg import errors

_enabled = True

_ONLY_WHEN_ASKED = 2**31  # psycopg's threshold: never reached, so only prepare=True prepares


class _PreparingCursor(ServerBindingCursor):
    """psycopg's server-binding cursor (as Django's backend subclasses it) that prepares what
    it executes, while preparing is on and no transaction is open."""

    db = None  # the Django connection it belongs to (cursor() sets it)

    def execute(self, query, params=None, *, prepare=None, binary=None):
        global _enabled
        if prepare is None:
            prepare = _enabled and not self.db.in_atomic_block
        try:
            return super().execute(query, params, prepare=prepare, binary=binary)
        except (errors.InvalidSqlStatementName, errors.DuplicatePreparedStatement):
            if not prepare:
                raise
            # A pooler: the server connection behind this one never saw the statement, or
            # already has one of that name from another client.
            _enabled = False
            return super().execute(query, params, prepare=False, binary=binary)


class _DebugCursor(CursorDebugWrapper):
    """Django's debug wrapper (tests, DEBUG) logging the statement with its values written in,
    as it does for its own cursors (it cannot read them back from a server-binding cursor)."""

    def execute(self, sql, params=None):
        logged = self.db.ops.compose_sql(sql, params) if params else sql
        with self.debug_sql(logged, params):
            return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)


@contextlib.contextmanager
def cursor(using: str = DEFAULT_DB_ALIAS):
    """A cursor of the connection ``using`` whose statements bind their parameters on the
    server and are prepared once per connection (see above); closed on leaving the block."""
    connection = connections[using]
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's preparing off (None); this cursor asks for it statement by
        # statement, and Django's own cursors (client-side binding) never prepare anyway.
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        cursor = _PreparingCursor(raw)
    cursor.db = connection
    if connection.queries_logged:
        wrapped = _DebugCursor(cursor, connection)
    else:
        wrapped = connection.make_cursor(cursor)
    with wrapped:
        yield wrapped
