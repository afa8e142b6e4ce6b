import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from syncaudit.models import Device


class Stream(models.Model):
    """An open event stream, on whichever app node serves it: the per-user limit counts them
    across nodes, and Web Push skips a device that holds one. The node that serves a stream
    refreshes ``seen_at`` every heartbeat and deletes the row when the stream ends; a row not
    seen for three heartbeats (a node that died) no longer counts, and the push round deletes
    it later. The rows are written by the hub's own autocommit connection: the references
    carry no database constraint (a presence note is not worth a lock on the user's row)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="event_streams",
    )
    device = models.ForeignKey(
        Device,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="event_streams",
    )
    node = models.CharField(max_length=200, help_text="host:pid of the process serving it")
    opened_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["user", "seen_at"]),
            models.Index(fields=["device", "seen_at"]),
        ]

    def __str__(self):
        return f"stream of {self.user_id} on {self.node}"
