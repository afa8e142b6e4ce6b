import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.db import models
from django.db.models import JSONField, Q, Value
from django.db.models.functions import Lower
from django.utils import timezone


class LiveManager(models.Manager):
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
    # Values of the custom fields (ContactField.key -> value) whose definitions are active, and
    # apart, the values of deactivated ones: kept, never shown (contacts/custom_fields.py).
    custom_fields = models.JSONField(blank=True, default=dict, db_default=Value({}, JSONField()))
    custom_fields_hidden = models.JSONField(
        default=dict, db_default=Value({}, JSONField()), editable=False
    )
    # The ids of the lists it belongs to: a copy of its ListMembership rows, kept by the list
    # services in the same transaction, so that feeds and filters read one column.
    lists = ArrayField(
        models.UUIDField(), blank=True, default=list, db_default=Value([]), editable=False
    )
    # Which fields changed at which version, for field-level merge (contacts/merge.py).
    field_versions = models.JSONField(
        default=dict, db_default=Value({}, JSONField()), editable=False
    )
    # The email and the company folded like name_search, for search (trigram-indexed).
    details_search = models.CharField(max_length=460, editable=False, default="", db_default="")

    objects = models.Manager()
    live = LiveManager()

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
            GinIndex(
                fields=["lists"], name="contact_lists_idx", condition=Q(deleted_at__isnull=True)
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.phone_normalized})"


class ContactWord(models.Model):
    """One word of a live contact's folded name, email or company (contacts.text.search_words):
    the search index. A query word finds the contacts having a word that starts with it by a
    range scan of (word, name_search, contact), and that index alone also gives what a page is
    ranked by (the exact word, then the name), without reading a contact row. Kept by the
    contacts' writers (contacts/searchindex.py); deleted contacts have no words."""

    pk = models.CompositePrimaryKey("contact_id", "word")
    # The primary key (contact, word) serves "the words of these contacts" (rewrites).
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Byte order ("C"): a prefix is a range, whatever the database's collation.
    word = models.TextField(db_collation="C")
    name_search = models.CharField(max_length=200)

    class Meta:
        indexes = [
            models.Index(fields=["word", "name_search", "contact"], name="contactword_prefix_idx")
        ]

    def __str__(self):
        return self.word


class SearchWord(models.Model):
    """Every word ContactWord ever held, once: what the typo fallback compares a query word
    with (trigram distance, GiST), a few thousand rows where ContactWord has millions. Words
    are added, never removed: one no contact has any more only finds nothing."""

    word = models.TextField(primary_key=True, db_collation="C")

    class Meta:
        indexes = [GistIndex(fields=["word"], name="searchword_trgm_idx",
                             opclasses=["gist_trgm_ops"])]  # fmt: skip

    def __str__(self):
        return self.word


class FieldType(models.TextChoices):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOL = "bool"
    CHOICE = "choice"


class ContactField(models.Model):
    """An admin-defined custom field of contacts. Deleting one deactivates it: its values stay
    (in Contact.custom_fields_hidden) and come back if it is activated again."""

    key = models.SlugField(max_length=50, primary_key=True, help_text="Immutable.")
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=FieldType.choices)
    choices = ArrayField(models.CharField(max_length=100), blank=True, default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key"]
        verbose_name = "custom field"

    def __str__(self):
        return f"{self.label} ({self.key})"


class ContactList(models.Model):
    """A named list of contacts (a campaign, a territory). Phones keep lists: they have
    versions and tombstones like contacts (the lists feed)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contact_lists"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.BigIntegerField(default=0, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = models.Manager()
    live = LiveManager()

    class Meta:
        ordering = [Lower("name"), "id"]
        verbose_name = "contact list"
        constraints = [
            models.UniqueConstraint(
                Lower("name"), condition=Q(deleted_at__isnull=True), name="list_name_unique_live"
            )
        ]
        indexes = [models.Index(fields=["version", "id"], name="list_feed_idx")]

    def __str__(self):
        return self.name


class ListMembership(models.Model):
    """A contact on a list: who put it there, and when. Contact.lists mirrors these rows."""

    id = models.BigAutoField(primary_key=True)
    list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["list", "contact"], name="membership_unique")
        ]
        indexes = [models.Index(fields=["contact"], name="membership_contact_idx")]

    def __str__(self):
        return f"{self.contact_id} on {self.list_id}"


class BulkAction(models.TextChoices):
    ADD_TAGS = "add_tags"
    REMOVE_TAGS = "remove_tags"
    ADD_TO_LIST = "add_to_list"
    REMOVE_FROM_LIST = "remove_from_list"
    DELETE = "delete"
    SET_OWNER = "set_owner"


class BulkOperation(models.Model):
    """One POST /contacts/bulk: what it was asked, what it did, and (once undone) what the
    undo did."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action = models.CharField(max_length=20, choices=BulkAction.choices)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    processed = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=dict, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    undo_result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "bulk operation"

    def __str__(self):
        return f"{self.action} of {self.succeeded} contact(s)"


class BulkChange(models.Model):
    """One contact a bulk operation changed: its values before, and the version the operation
    gave it (a contact whose version moved on since was changed again: undo leaves it)."""

    id = models.BigAutoField(primary_key=True)
    operation = models.ForeignKey(BulkOperation, on_delete=models.CASCADE, related_name="changes")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    before = models.JSONField(default=dict)
    version = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["operation", "contact"], name="bulkchange_op_idx")]

    def __str__(self):
        return f"{self.contact_id} in {self.operation_id}"
