"""Pokes: "something phones follow has changed", told to every app node once it commits.

A poke is sent with PostgreSQL's NOTIFY inside the writer's own transaction. PostgreSQL hands a
notification to its listeners only when that transaction commits (and drops it on rollback),
in commit order, so a poke can never arrive before the data it announces, on any node. The
change counter sends one for every version it issues (``ledger.versioning``); other layers send
theirs through ``notify``. Who listens (``events/``, one connection per process) is no concern
of the ledger's. A poke carries no data a client could not read anyway: it only says where to
look (a feed and its new version, an import job's progress, a device or a user signed out).
"""

import json

from django.db import connection

CHANNEL = "crm_events"

FEED = "feed"  # {"feed", "version"}: a sync feed moved (sent by ledger.versioning)
IMPORT = "import"  # {"user", "id", "status", "progress"}: an import job moved
DEVICE_REVOKED = "device_revoked"  # {"device"}: a phone was signed out
USER_REVOKED = "user_revoked"  # {"user"}: a user's sessions ended (deactivated, new password)


def notify(kind: str, **data) -> None:
    """Send a poke of ``kind`` when the current transaction commits (at once in autocommit)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_notify(%s, %s)", [CHANNEL, json.dumps({"kind": kind, **data}, default=str)]
        )
