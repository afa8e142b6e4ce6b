import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q, Value
from django.utils import timezone


class LiveContactManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class Contact(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    # Lower-cased, accent-free copy of name for search (see contacts/text.py).
    name_search = models.CharField(max_length=200, editable=False, default="")
    phone = models.CharField(max_length=64, help_text="As entered.")
    phone_normalized = models.CharField(max_length=20, help_text="E.164", editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contacts"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.BigIntegerField(default=0, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The richer contact (empty when not known). Database defaults too: bulk writers (COPY)
    # that name only some columns leave these empty, not NULL.
    email = models.CharField(max_length=254, blank=True, default="", db_default="")
    company = models.CharField(max_length=200, blank=True, default="", db_default="")
    title = models.CharField(max_length=200, blank=True, default="", db_default="")
    notes = models.TextField(blank=True, default="", db_default="")
    # Tags as written (first spelling kept) and folded to lower case for `tag=` filters (GIN).
    tags = ArrayField(
        models.CharField(max_length=50), blank=True, default=list, db_default=Value([])
    )
    tags_key = ArrayField(
        models.CharField(max_length=50), blank=True, default=list, db_default=Value([]),
        editable=False,
    )  # fmt: skip

    objects = models.Manager()
    live = LiveContactManager()

    class Meta:
        ordering = ["name_search", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone_normalized"],
                condition=Q(deleted_at__isnull=True),
                name="contact_phone_unique_live",
            )
        ]
        indexes = [
            models.Index(fields=["version", "id"], name="contact_feed_idx"),
            models.Index(
                fields=["name_search", "id"],
                condition=Q(deleted_at__isnull=True),
                name="contact_live_name_idx",
            ),
            models.Index(fields=["created_by", "name_search"], name="contact_creator_idx"),
            models.Index(fields=["updated_at"], name="contact_updated_idx"),
            GinIndex(
                fields=["tags_key"], name="contact_tags_idx", condition=Q(deleted_at__isnull=True)
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.phone_normalized})"
