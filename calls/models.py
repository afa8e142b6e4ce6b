import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Direction(models.TextChoices):
    """Android's CallLog.Calls types."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"
    MISSED = "missed"
    REJECTED = "rejected"
    BLOCKED = "blocked"
    VOICEMAIL = "voicemail"


class CallLog(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calls"
    )
    # SET_NULL: the call history survives if a contact row is ever removed for good.
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    phone = models.CharField(max_length=64, blank=True, help_text="As reported by the phone.")
    phone_normalized = models.CharField(
        max_length=20, blank=True, help_text="E.164, empty for private numbers and short codes."
    )
    direction = models.CharField(max_length=16, choices=Direction.choices)
    started_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField(default=0)
    device_id = models.CharField(max_length=128, blank=True, default="")
    client_call_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    version = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # Idempotency keys, enforced by the database (see calls/services.py).
            models.UniqueConstraint(
                fields=["user", "device_id", "client_call_id"],
                condition=~Q(client_call_id=""),
                name="call_client_key_unique",
            ),
            models.UniqueConstraint(
                fields=["user", "phone_normalized", "started_at", "direction"],
                condition=Q(client_call_id=""),
                name="call_natural_key_unique",
            ),
            models.CheckConstraint(
                condition=Q(duration_seconds__gte=0), name="call_duration_non_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["contact", "-started_at", "-id"], name="call_contact_idx"),
            models.Index(fields=["user", "-started_at", "-id"], name="call_user_idx"),
            models.Index(fields=["-started_at", "-id"], name="call_started_idx"),
            models.Index(fields=["version", "id"], name="call_feed_idx"),
            models.Index(fields=["phone_normalized", "-started_at"], name="call_phone_idx"),
            # The unknown-caller inbox: calls of numbers in no contact.
            models.Index(
                fields=["phone_normalized", "-started_at"],
                condition=Q(contact__isnull=True) & ~Q(phone_normalized=""),
                name="call_unknown_idx",
            ),
        ]

    def __str__(self):
        return f"{self.direction} {self.phone or 'unknown'} at {self.started_at:%Y-%m-%d %H:%M}"


class OwnNumber(models.Model):
    """A number of the team itself (the office line, a colleague's phone): its calls are no
    unknown callers."""

    phone = models.CharField(max_length=64, help_text="As entered.")
    phone_normalized = models.CharField(max_length=20, unique=True, editable=False)
    label = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["label", "phone_normalized"]
        verbose_name = "own number"

    def __str__(self):
        return f"{self.label} ({self.phone_normalized})" if self.label else self.phone_normalized
