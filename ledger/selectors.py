"""Reading the ledger: a feed's state, an object's history."""

from django.db import connection
from django.db.models import Model, QuerySet

from ledger.models import Activity, ChangeFeed
from ledger.versioning import feed_ensure


def feed_state(feed: str) -> ChangeFeed:
    state = ChangeFeed.objects.filter(name=feed).first()
    if state is None:
        feed_ensure(feed)
        state = ChangeFeed.objects.get(name=feed)
    return state


_VERSION = f"SELECT version FROM {ChangeFeed._meta.db_table} WHERE name = %s"  # noqa: S608


def feed_version(feed: str) -> int:
    """A feed's head: the last version taken (one indexed row; plain SQL, asked per page)."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION, [feed])
        row = cursor.fetchone()
    return row[0] if row else 0


def activity_for_object(obj: Model) -> QuerySet[Activity]:
    """An object's history, newest first (served by the (object_type, object_id) index)."""
    return (
        Activity.objects.filter(object_type=obj._meta.model_name, object_id=str(obj.pk))
        .select_related("actor")
        .order_by("-created_at", "-id")
    )
