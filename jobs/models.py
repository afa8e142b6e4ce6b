"""Import jobs: an uploaded file worked by a background worker (jobs/imports.py), what it did
to each row (for its undo) and the rows it refused (its errors file)."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

UNDO_DAYS = 7


class ImportKind(models.TextChoices):
    CONTACTS = "contacts"
    DNC = "dnc"
    CALLS = "calls"


class ImportStatus(models.TextChoices):
    PENDING = "pending"
    NEEDS_MAPPING = "needs_mapping"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (ImportStatus.SUCCEEDED, ImportStatus.FAILED, ImportStatus.CANCELLED)


class ImportPhase(models.TextChoices):
    """What a running job is doing: every row is checked before any is imported (unless
    invalid rows are skipped), so progress goes through both."""

    QUEUED = "", "queued"
    CHECKING = "checking"
    IMPORTING = "importing"
    DONE = "done"


def _upload_to(job: "ImportJob", filename: str) -> str:
    return f"imports/{timezone.now():%Y/%m}/{job.pk}/{filename}"


class ImportJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    file = models.FileField(upload_to=_upload_to, max_length=300)
    filename = models.CharField(max_length=255, help_text="As uploaded.")
    size = models.BigIntegerField(help_text="Bytes.")
    status = models.CharField(
        max_length=14, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    phase = models.CharField(max_length=10, choices=ImportPhase.choices, blank=True, default="")
    dry_run = models.BooleanField(default=False)
    skip_invalid = models.BooleanField(default=False)
    contact_list = models.ForeignKey(
        "contacts.ContactList", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Contacts: the list the imported rows are added to.",
    )  # fmt: skip
    dnc_list = models.ForeignKey(
        "dnc.DncList", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="DNC imports: the list the numbers go on.",
    )  # fmt: skip
    calls_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Call imports: whose calls they are.",
    )  # fmt: skip
    device_id = models.CharField(max_length=200, blank=True, default="")
    # The file's header and, for a file not in our own columns, header -> field (proposed
    # while the job waits in needs_mapping, then as confirmed): jobs/mapping.py.
    columns = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(null=True, blank=True)
    total_rows = models.IntegerField(null=True, blank=True)
    processed_rows = models.IntegerField(default=0, help_text="Rows done in this phase.")
    # The last row (as numbered in the file) of the last committed batch: a job run again
    # after its worker died goes on from there.
    checkpoint_row = models.IntegerField(default=0, editable=False)
    progress = models.SmallIntegerField(default=0)
    created = models.IntegerField(default=0)
    existing = models.IntegerField(default=0)
    replaced = models.IntegerField(default=0)
    invalid = models.IntegerField(default=0)
    error = models.TextField(blank=True, default="")
    cancel_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    # {"deleted", "restored", "removed_from_list", "left": n, "left_ids": [...]}
    undo_report = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="jobs_import_status_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} import of {self.filename}"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def undo_summary(self) -> str:
        report = self.undo_report or {}
        if not report:
            return ""
        parts = [f"{report.get('deleted', 0)} deleted"]
        if "restored" in report:
            parts.append(f"{report['restored']} given their values back")
        if report.get("removed_from_list"):
            parts.append(f"{report['removed_from_list']} taken off the list")
        parts.append(f"{report.get('left', 0)} changed since, left as they are")
        return ", ".join(parts) + "."

    def undo_refusal(self) -> tuple[str, str] | None:
        """Why this job cannot be undone now, as (error code, message); None if it can."""
        if self.dry_run:
            return "not_undoable", "A dry run imported nothing; there is nothing to undo."
        if self.kind == ImportKind.CALLS:
            return "not_undoable", (
                "Call imports cannot be undone: the call log keeps every call it was given."
            )
        imported = self.status in (ImportStatus.SUCCEEDED, ImportStatus.CANCELLED) or (
            self.status == ImportStatus.FAILED and self.checkpoint_row > 0  # failed half-way
        )
        if not imported:
            return "not_undoable", (
                f"Only a finished import that imported rows can be undone; this one is "
                f"{self.status}."
            )
        if self.undo_until is None or timezone.now() > self.undo_until:
            return (
                "undo_expired",
                f"An import can be undone for {UNDO_DAYS} days after it finished.",
            )
        return None

    @property
    def undoable(self) -> bool:
        return self.undone_at is None and self.undo_refusal() is None

    @property
    def undo_until(self):
        return self.finished_at + timedelta(days=UNDO_DAYS) if self.finished_at else None


class RowAction(models.IntegerChoices):
    CREATED = 1
    REPLACED = 2
    LISTED = 3  # an existing contact the job put on its list


class ImportRow(models.Model):
    """What a job did to one record, COPY-written batch by batch: enough to undo it
    (``version`` tells whether the record changed since; ``previous`` holds a replaced
    contact's values before the import)."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="+", db_index=False)
    object_id = models.UUIDField()
    action = models.SmallIntegerField(choices=RowAction.choices)
    version = models.BigIntegerField()
    previous = models.JSONField(null=True)

    class Meta:
        indexes = [models.Index(fields=["job", "id"], name="jobs_importrow_job_idx")]

    def __str__(self):
        return f"{self.get_action_display()} {self.object_id}"


class ImportRowError(models.Model):
    """A refused row of a job's file, as its errors file lists it."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="+", db_index=False)
    row = models.IntegerField(help_text="As a spreadsheet shows it: the header is row 1.")
    column = models.CharField(max_length=200)
    code = models.CharField(max_length=40)
    message = models.TextField()
    value = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["job", "row", "id"], name="jobs_importerror_job_idx")]

    def __str__(self):
        return f"row {self.row}, {self.column}: {self.message}"


class ImportMapping(models.Model):
    """A column mapping saved by name, for the next file of the same layout."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    mapping = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                models.functions.Lower("name"), "kind", name="jobs_mapping_name_unique"
            )
        ]

    def __str__(self):
        return self.name
