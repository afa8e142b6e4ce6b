"""Reading the ledger: a feed's state, an object's history."""

from django.db.models import Model, QuerySet

from ledger.models import Activity, ChangeFeed
from ledger.versioning import feed_ensure


def feed_state(feed: str) -> ChangeFeed:
    state = ChangeFeed.objects.filter(name=feed).first()
    if state is None:
        feed_ensure(feed)
        state = ChangeFeed.objects.get(name=feed)
    return state


def feed_version(feed: str) -> int:
    """A feed's head: the last version taken (one indexed row)."""
    version = ChangeFeed.objects.filter(name=feed).values_list("version", flat=True).first()
    return version or 0


def activity_for_object(obj: Model) -> QuerySet[Activity]:
    """An object's history, newest first (served by the (object_type, object_id) index)."""
    return (
        Activity.objects.filter(object_type=obj._meta.model_name, object_id=str(obj.pk))
        .select_related("actor")
        .order_by("-created_at", "-id")
    )
