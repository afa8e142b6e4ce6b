import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def epoch_new() -> int:
    """A cursor epoch that has never been used: random, so that restoring one backup twice (or
    a fresh install) never brings back an epoch that cursors in the field still carry."""
    return secrets.randbelow(2**62) + 1


class ChangeFeed(models.Model):
    """One row per change feed ("contacts", "calls"): the last version issued, the cursor epoch
    and how far tombstones have been purged. See ledger/versioning.py for why versions are
    taken under this row's lock."""

    name = models.CharField(max_length=32, primary_key=True)
    version = models.BigIntegerField(default=0)
    epoch = models.BigIntegerField(default=epoch_new)
    purged_through = models.BigIntegerField(
        default=0, help_text="Tombstones with a version up to this one have been purged."
    )
    purged_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} v{self.version} (epoch {self.epoch})"


class Activity(models.Model):
    """Who did what, with a dotted action name (``contacts.contact.replaced``)."""

    id = models.BigAutoField(primary_key=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(
                fields=["object_type", "object_id", "-created_at"], name="activity_object_idx"
            )
        ]

    def __str__(self):
        return f"{self.action} {self.object_repr}"
