"""Import jobs: upload (store the file, check its header, queue it), cancel and undo. The
worker's side is jobs/imports.py."""

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from contacts.models import ContactList
from contacts.resources import ImportFileInvalid
from contacts.revert import Touched, contacts_import_revert
from crm.http.errors import PayloadTooLarge
from dnc.models import DncList
from dnc.services import dnc_entries_unload
from jobs.errors import ImportErrorCode, ImportInvalid, ImportRefused
from jobs.imports import import_job_announce, job_header, kind_for
from jobs.mapping import IGNORE, cell_key, mapping_problems, mapping_propose
from jobs.models import (
    FINISHED,
    ImportJob,
    ImportKind,
    ImportMapping,
    ImportRow,
    ImportStatus,
    RowAction,
)
from jobs.queue import enqueue_once
from jobs.sources import (
    VCARD_SUFFIXES,
    XLSX_SUFFIXES,
    XML_SUFFIXES,
    has_own_fields,
    header_of,
    is_call_log,
    is_vcard,
)
from jobs.tasks import import_run
from ledger.activity import activity_record

SUFFIXES = (".csv", ".txt", *XLSX_SUFFIXES, *VCARD_SUFFIXES, *XML_SUFFIXES)


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _list_for(kind: str, list_id, errors: dict):
    if kind == ImportKind.CALLS:
        return None, None
    if kind == ImportKind.DNC:
        if not list_id:
            errors["list"] = ["The do-not-call list the numbers go on (its id) is required."]
            return None, None
        found = DncList.objects.filter(pk=_uuid(list_id), deleted_at__isnull=True).first()
        if _uuid(list_id) is None or found is None:
            errors["list"] = ["No such do-not-call list."]
        return None, found
    if not list_id:
        return None, None
    found = ContactList.live.filter(pk=_uuid(list_id)).first() if _uuid(list_id) else None
    if found is None:
        errors["list"] = ["No such contact list."]
    return found, None


def _calls_user(actor: User, user) -> User | None:
    if user in (None, ""):
        return actor
    text = str(user).strip()
    found = User.objects.filter(is_active=True)
    pk = _uuid(text)
    return (found.filter(pk=pk) if pk else found.filter(email__iexact=text)).first()


def _suffix_problem(name: str, kind: str) -> str | None:
    lower = name.lower()
    if not lower.endswith(SUFFIXES):
        return "A CSV (.csv), Excel (.xlsx), vCard (.vcf) or call-log XML (.xml) file."
    if is_vcard(lower) and kind != ImportKind.CONTACTS:
        return "A vCard file holds contacts: import it with kind contacts."
    if is_call_log(lower) and kind != ImportKind.CALLS:
        return "A call-log XML file holds calls: import it with kind calls."
    return None


def _mapping_for(kind: str, header: list, mapping, mapping_name) -> dict | None:
    """The mapping the upload names (whole: every column of the file), or None."""
    if mapping is None and not mapping_name:
        return None
    if mapping is None:
        saved = ImportMapping.objects.filter(kind=kind, name__iexact=mapping_name).first()
        if saved is None:
            raise ImportInvalid({"mapping_name": [f"No saved {kind} mapping {mapping_name!r}."]})
        mapping = {h: saved.mapping.get(h, IGNORE) for h in header}
    problems = mapping_problems(mapping, header, kind)
    if problems:
        raise ImportInvalid({"mapping": problems})
    return {**dict.fromkeys(header, IGNORE), **mapping}


@transaction.atomic
def import_job_create(
    *,
    actor: User,
    file,
    kind: str,
    list_id=None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    user=None,
    device_id: str = "",
    mapping: dict | None = None,
    mapping_name: str | None = None,
) -> ImportJob:
    """POST /imports: store the upload and queue it (the queue entry commits with the job).

    A CSV or XLSX file whose header lacks our required columns, and that names no mapping,
    waits in needs_mapping with a proposal (jobs/mapping.py) instead of being queued."""
    errors: dict[str, list[str]] = {}
    if file is None:
        raise ImportInvalid({"file": ["A CSV or XLSX file is required."]})
    if file.size > settings.IMPORT_MAX_BYTES:
        limit = settings.IMPORT_MAX_BYTES // (1024 * 1024)
        raise PayloadTooLarge(
            f"The file is larger than {limit} MB; split it.",
            details={"limit": settings.IMPORT_MAX_BYTES, "size": file.size},
        )
    name = PurePath(file.name or "upload.csv").name[-200:]
    if kind not in ImportKind.values:
        errors["kind"] = [f"One of: {', '.join(ImportKind.values)}."]
    elif problem := _suffix_problem(name, kind):
        errors["file"] = [problem]
    contact_list, dnc_list = _list_for(kind, list_id, errors)
    calls_user = _calls_user(actor, user) if kind == ImportKind.CALLS else None
    if kind == ImportKind.CALLS and calls_user is None:
        errors["user"] = ["No active user with this email or id."]
    if len(device_id or "") > 128:
        errors["device_id"] = ["At most 128 characters."]
    if errors:
        raise ImportInvalid(errors)
    job = ImportJob(
        kind=kind, filename=name, size=file.size, dry_run=dry_run, skip_invalid=skip_invalid,
        contact_list=contact_list, dnc_list=dnc_list, calls_user=calls_user,
        device_id=(device_id or "").strip(), created_by=actor,
    )  # fmt: skip
    job.file.save(name, file, save=False)
    try:
        header = [cell_key(h) for h in header_of(job.file, job.filename)]
        if not any(header):
            raise ImportFileInvalid("The file is empty: its first row must name the columns.")
        job.columns = header
        if not has_own_fields(name):
            job.mapping = _mapping_for(kind, header, mapping, mapping_name)
        kind_for(job, job_header(job))  # our own columns, or mapped to them
    except ImportFileInvalid as exc:  # not ours, and no mapping named: propose one
        if job.mapping is not None or has_own_fields(name) or not any(job.columns):
            job.file.delete(save=False)
            raise ImportInvalid({"file": [str(exc)]}) from None
        job.status, job.mapping = ImportStatus.NEEDS_MAPPING, mapping_propose(header, kind)
    except ImportInvalid:
        job.file.delete(save=False)
        raise
    job.save()
    if job.status == ImportStatus.PENDING:
        enqueue_once(import_run, lock=f"import-{job.pk}", job_id=str(job.pk))
    activity_record(actor=actor, action="jobs.import.created", obj=job,
                    changes={"kind": kind, "filename": name, "dry_run": dry_run})  # fmt: skip
    return job


@transaction.atomic
def import_job_map(*, actor: User, job: ImportJob, mapping, save_as: str = "") -> ImportJob:
    """POST /imports/{id}/mapping: the user's mapping for a job in needs_mapping; it is
    queued. ``save_as`` saves the mapping under that name (replacing one of the same name)."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportStatus.NEEDS_MAPPING:
        raise ImportRefused(
            ImportErrorCode.NOT_WAITING,
            f"This import is {job.status}: it is not waiting for a column mapping.",
        )
    save_as = (save_as or "").strip()
    if len(save_as) > 100:
        raise ImportInvalid({"save_as": ["At most 100 characters."]})
    job.mapping = _mapping_for(job.kind, job.columns, mapping, None)
    job.status = ImportStatus.PENDING
    job.save(update_fields=["mapping", "status"])
    import_job_announce(job)
    if save_as:
        saved = ImportMapping.objects.filter(kind=job.kind, name__iexact=save_as).first()
        saved = saved or ImportMapping(kind=job.kind, name=save_as)
        saved.mapping = {h: t for h, t in job.mapping.items() if t != IGNORE}
        saved.created_by, saved.updated_at = actor, timezone.now()
        saved.save()
    enqueue_once(import_run, lock=f"import-{job.pk}", job_id=str(job.pk))
    activity_record(actor=actor, action="jobs.import.mapped", obj=job,
                    changes={"mapping": job.mapping, "saved_as": save_as})  # fmt: skip
    return job


@transaction.atomic
def import_job_cancel(*, actor: User, job: ImportJob) -> ImportJob:
    """Queued: cancelled now. Running: it stops before its next batch (the rows before stay
    imported; undo takes them back). Cancelled already: nothing to do."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status == ImportStatus.CANCELLED:
        return job
    if job.status in FINISHED:
        raise ImportRefused(
            ImportErrorCode.JOB_FINISHED,
            f"This import has {job.status} already; nothing to cancel"
            + (" (undo takes its rows back)." if job.status == ImportStatus.SUCCEEDED else "."),
        )
    if job.status == ImportStatus.RUNNING:
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
    else:
        job.cancel_requested = True
        job.status, job.finished_at = ImportStatus.CANCELLED, timezone.now()
        job.error = "Cancelled before it started."
        job.save(update_fields=["cancel_requested", "status", "finished_at", "error"])
        import_job_announce(job)
    activity_record(actor=actor, action="jobs.import.cancelled", obj=job)
    return job


_ACTIONS = {
    RowAction.CREATED: "created",
    RowAction.REPLACED: "replaced",
    RowAction.LISTED: "listed",
}


@transaction.atomic
def import_job_undo(*, actor: User, job: ImportJob) -> ImportJob:
    """Within 7 days: what the job created is deleted, what it replaced gets its values from
    before, what it put on its list leaves it; records changed since are left and reported
    (``undo_report``). Undoing twice answers the first undo."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.undone_at is not None:
        return job
    refusal = job.undo_refusal()
    if refusal:
        raise ImportRefused(ImportErrorCode(refusal[0]), refusal[1])
    rows = ImportRow.objects.filter(job=job).order_by("id")
    source = f"import job {job.pk} ({job.filename})"
    if job.kind == ImportKind.CONTACTS:
        touched = (
            Touched(pk, _ACTIONS[action], version, previous)
            for pk, action, version, previous in rows.values_list(
                "object_id", "action", "version", "previous"
            ).iterator(chunk_size=5000)
        )
        contact_list = ContactList.live.filter(pk=job.contact_list_id).first()
        report = contacts_import_revert(
            actor=actor, touched=touched, contact_list=contact_list, source=source
        ).as_dict()
    else:  # one row per batch: its version, and how many entries it created
        batches = list(rows.values_list("version", "previous"))
        removed = dnc_entries_unload(
            actor=actor, list_id=job.dnc_list_id, versions=[v for v, _ in batches], source=source
        )
        created = sum(previous["created"] for _, previous in batches)
        report = {"deleted": removed, "left": created - removed}
    job.undone_at, job.undone_by, job.undo_report = timezone.now(), actor, report
    job.save(update_fields=["undone_at", "undone_by", "undo_report"])
    activity_record(actor=actor, action="jobs.import.undone", obj=job, changes=report)
    return job
