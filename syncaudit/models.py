import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Device(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device_id = models.CharField(max_length=128, help_text="The phone's own identifier.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="devices"
    )
    platform = models.CharField(max_length=32, blank=True)
    app_version = models.CharField(max_length=32, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_cursor = models.TextField(blank=True)
    revoked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the phone was signed out (its refresh tokens revoked, its event "
        "stream ended); a new login naming it signs it in again.",
    )

    class Meta:
        ordering = ["-last_sync_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "device_id"], name="device_user_device_unique")
        ]

    def __str__(self):
        return f"{self.device_id} ({self.platform} {self.app_version})"


class PushSubscription(models.Model):
    """A device's Web Push (UnifiedPush) endpoint: while the phone holds no event stream,
    changes send it a data-less message (events/push.py), at most one per
    WEBPUSH_COALESCE_SECONDS."""

    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="push")
    endpoint = models.URLField(max_length=2000)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    # The feeds' versions the phone was last poked for ({"contacts": 12, ...}): a change is
    # one that moved a feed past them.
    heads_seen = models.JSONField(default=dict, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return f"push for {self.device_id}"


class SyncOutcome(models.TextChoices):
    OK = "ok", "OK"
    INVALID = "invalid", "Invalid request"
    CURSOR = "cursor", "Cursor refused"
    ERROR = "error", "Server error"


ITEM_ERRORS_KEPT = 50


class SyncRecord(models.Model):
    """One row per POST /sync, written also when the request is refused."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sync_records"
    )
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_records"
    )
    device_ref = models.CharField(max_length=128, blank=True)
    app_version = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=SyncOutcome.choices, default=SyncOutcome.OK)
    error_code = models.CharField(max_length=64, blank=True)
    cursor_before = models.TextField(blank=True)
    cursor_after = models.TextField(blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    contacts_pushed = models.PositiveIntegerField(default=0)
    contacts_created = models.PositiveIntegerField(default=0)
    contacts_existing = models.PositiveIntegerField(default=0)
    contacts_replaced = models.PositiveIntegerField(default=0)
    contacts_updated = models.PositiveIntegerField(default=0)
    contacts_deleted = models.PositiveIntegerField(default=0)
    contacts_conflict = models.PositiveIntegerField(default=0)
    contacts_error = models.PositiveIntegerField(default=0)
    calls_pushed = models.PositiveIntegerField(default=0)
    calls_created = models.PositiveIntegerField(default=0)
    calls_duplicate = models.PositiveIntegerField(default=0)
    calls_error = models.PositiveIntegerField(default=0)
    # The refused items, for the back office: [{"kind", "index", "id"?, "errors"}], the first
    # ITEM_ERRORS_KEPT of them (the counts above count them all).
    item_errors = models.JSONField(default=list, blank=True)
    changes_pulled = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-started_at"]),
            models.Index(fields=["device", "-started_at"]),
        ]

    def __str__(self):
        return f"sync {self.user_id} {self.started_at:%Y-%m-%d %H:%M} {self.outcome}"
