"""Do-not-call lists and their numbers. This app knows numbers only, never contacts: the
contacts and calls apps above ask it "is this number blocked (now, or then)?"."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class DncListType(models.TextChoices):
    FEDERAL = "federal"
    STATE = "state"
    COMPANY = "company"
    INDUSTRY = "industry"


class DncList(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=DncListType.choices)
    description = models.TextField(blank=True, default="")
    source = models.CharField(max_length=200, blank=True, default="")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "do-not-call list"

    def __str__(self):
        return self.name


class DncEntry(models.Model):
    """A number on a list. Removing one leaves a tombstone (``deleted_at``) for the phones'
    feed; ``expired`` is set, with a new version, once ``expires_at`` has passed (see
    dnc/services.py, dnc_expire_due)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    list = models.ForeignKey(DncList, on_delete=models.CASCADE, related_name="entries")
    phone = models.CharField(max_length=64, help_text="As entered.")
    phone_normalized = models.CharField(max_length=20, help_text="E.164")
    reason = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=200, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    expired = models.BooleanField(default=False, editable=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(default=timezone.now)
    version = models.BigIntegerField(default=0, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = "do-not-call entry"
        verbose_name_plural = "do-not-call entries"
        constraints = [
            models.UniqueConstraint(
                fields=["list", "phone_normalized"],
                condition=Q(deleted_at__isnull=True),
                name="dnc_entry_unique_live",
            )
        ]
        indexes = [
            # "Is this number blocked now": one index probe, the rest from the index.
            models.Index(
                fields=["phone_normalized"],
                include=["list", "expires_at"],
                condition=Q(deleted_at__isnull=True),
                name="dnc_entry_number_idx",
            ),
            # "Was this number blocked then" (the compliance report, the dashboard): entries
            # deleted since still count for calls before their deletion. Few rows.
            models.Index(
                fields=["phone_normalized"],
                condition=Q(deleted_at__isnull=False),
                name="dnc_entry_deleted_number_idx",
            ),
            models.Index(fields=["version", "id"], name="dnc_entry_feed_idx"),
            # The expiry sweep: entries still served whose time is set.
            models.Index(
                fields=["expires_at"],
                condition=Q(deleted_at__isnull=True, expired=False, expires_at__isnull=False),
                name="dnc_entry_expiry_idx",
            ),
        ]

    def __str__(self):
        return f"{self.phone_normalized} on {self.list_id}"
