"""Reads of import jobs: the list, one job as the API shows it, its errors file."""

from collections.abc import Iterator

from django.db.models import QuerySet

from crm.timestamps import iso_utc
from jobs.imports import KINDS
from jobs.mapping import mapping_ignored
from jobs.models import ImportJob, ImportKind, ImportMapping, ImportRowError
from jobs.sources import has_own_fields

ERRORS_HEADER = ("row", "column", "code", "message", "value")


def import_job_list() -> QuerySet[ImportJob]:
    """Every job, newest first (managers and admins see the whole team's)."""
    return ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")


def import_job_to_dict(job: ImportJob) -> dict:
    list_id = job.dnc_list_id if job.kind == ImportKind.DNC else job.contact_list_id
    return {
        "id": str(job.pk),
        "kind": job.kind,
        "filename": job.filename,
        "size": job.size,
        "status": job.status,
        "phase": job.phase or "queued",
        "progress": job.progress,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "created": job.created,
        "existing": job.existing,
        "replaced": job.replaced,
        "invalid": job.invalid,
        "dry_run": job.dry_run,
        "skip_invalid": job.skip_invalid,
        "list": str(list_id) if list_id else None,
        "user": str(job.calls_user_id) if job.calls_user_id else None,
        "device_id": job.device_id,
        "columns": job.columns,
        "mapping": job.mapping,
        "ignored_columns": import_job_ignored(job),
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "created_by": str(job.created_by_id),
        "created_by_email": job.created_by.email,
        "created_at": iso_utc(job.created_at),
        "started_at": iso_utc(job.started_at),
        "finished_at": iso_utc(job.finished_at),
        "undo_until": iso_utc(job.undo_until) if not job.dry_run else None,
        "undone_at": iso_utc(job.undone_at),
        "undo": job.undo_report,
    }


def import_job_ignored(job: ImportJob) -> list[str]:
    """The columns of the file the import leaves out (what a preview must say)."""
    if job.mapping:
        return mapping_ignored(job.mapping, job.columns)
    if has_own_fields(job.filename):
        return []
    known = set(KINDS[job.kind].columns)
    ignored = []
    for column in job.columns:
        name = column.strip().lower().replace(" ", "_")
        if name not in known and not name.startswith("custom_fields."):
            ignored.append(column)
    return ignored


def import_mapping_list() -> QuerySet[ImportMapping]:
    return ImportMapping.objects.order_by("kind", "name")


def import_mapping_to_dict(saved: ImportMapping) -> dict:
    return {"id": str(saved.pk), "name": saved.name, "kind": saved.kind,
            "mapping": saved.mapping, "updated_at": iso_utc(saved.updated_at)}  # fmt: skip


def import_errors_rows(job: ImportJob) -> Iterator[dict]:
    """The job's refused rows in file order, read in chunks (any number of them)."""
    return (
        ImportRowError.objects.filter(job=job)
        .order_by("row", "id")
        .values(*ERRORS_HEADER)
        .iterator(chunk_size=2000)
    )
