"""An import job, as the worker runs it: the stored file read batch by batch through the
write service of its kind, with progress, an errors file, cancel and undo.

The passes (the same as ``manage.py import_contacts``, which shares the contacts reader):

1. **Check** (all-or-nothing imports, the default): every row goes through the service's own
   checks, without writing. Refused rows go to the job's errors; if there is any, nothing is
   imported and the job fails.
2. **Import**: batches of ``BATCH_ROWS`` rows through the kind's service (contacts_upsert,
   dnc_entries_add, calls_upload), each batch in its own transaction together with the job's
   counters, its checkpoint and the record of what it did to each row (``ImportRow``, COPY).
   With ``skip_invalid`` each batch is checked first and its valid rows are imported; with
   ``dry_run`` every batch is written and rolled back, so the counts are what the import
   would do against the database as it is.

Why batches and not one transaction: a contacts write holds the contacts feed's version lock
until it commits (ledger/versioning.py); one transaction of 100,000 rows would stall every
phone's sync for its whole duration. Because the checkpoint commits with its batch, a job whose
worker died (retried by jobs.recover) goes on after its last committed batch, its counts right.

Cancel is cooperative: the job stops before its next batch; the batches before stay imported,
and the job can be undone like any other.
"""

import csv
import io
import logging
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import psycopg
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.utils import timezone

from calls.services import calls_upload
from calls.validation import call_validate
from contacts.lists import members_add
from contacts.models import Contact, ContactList
from contacts.resources import (
    IMPORT_COLUMNS,
    REQUIRED_COLUMNS,
    ContactRowReader,
    ImportFileInvalid,
    import_rows,
    phone_hints_add,
)
from contacts.resources import template_csv as contacts_template_csv
from contacts.services import Result, contacts_import_record, contacts_validate
from crm.db.store import copy_records
from crm.http.exports import cell_safe
from crm.memory import gc_paused
from crm.text import text_storable
from crm.timestamps import timestamp_parse
from dnc.services import (
    DncEntryInput,
    dnc_entries_load,
    dnc_entries_load_record,
    dnc_entries_validate,
)
from jobs.mapping import mapped_header, mapped_rows
from jobs.models import (
    FINISHED,
    UNDO_DAYS,
    ImportJob,
    ImportKind,
    ImportPhase,
    ImportRow,
    ImportRowError,
    ImportStatus,
    RowAction,
)
from jobs.sources import cell_text, file_rows
from ledger.notify import IMPORT, notify

log = logging.getLogger(__name__)

BATCH_ROWS = 2000


class JobStopped(Exception):
    """The job was cancelled between two batches."""


class JobTakenOver(Exception):
    """Another worker has gone on with this job (this one was thought dead): stop quietly."""


def job_rows(job: ImportJob) -> Iterator[tuple[int, list]]:
    """The job's file as rows in our own columns: as stored, or through its column mapping
    (jobs/mapping.py)."""
    rows = file_rows(job.file, job.filename)
    if not job.mapping:
        yield from rows
        return
    first = next(rows, None)
    if first is None:
        return
    yield first[0], mapped_header(job.mapping, job.kind)
    yield from mapped_rows(rows, first[1], job.mapping, job.kind)


def job_header(job: ImportJob) -> list:
    for _, cells in job_rows(job):
        return cells
    return []


def _normalized(headers: Sequence) -> list[str]:
    return [cell_text(h).strip().lower().replace(" ", "_") for h in headers]


def _required(headers: list[str], required: Sequence[str], columns: Sequence[str]) -> None:
    missing = [c for c in required if c not in headers]
    if missing:
        raise ImportFileInvalid(
            f"The file has no {' or '.join(missing)} column. The first row must name the "
            f"columns: {', '.join(columns)} (download the template)."
        )


# --- what each kind reads and writes ----------------------------------------------------


# A code for each column's errors in the errors file ("required" when the cell was blank).
_CODES = {
    "name": "invalid_name",
    "phone": "invalid_phone",
    "email": "invalid_email",
    "created_at": "invalid_time",
    "started_at": "invalid_time",
    "expires_at": "invalid_time",
    "created_by_email": "unknown_user",
    "tags": "invalid_tags",
    "direction": "invalid_direction",
    "duration_seconds": "invalid_duration",
}


class Written:
    """What one batch did: counts, and what to record for the undo."""

    def __init__(self):
        self.created = self.existing = self.replaced = 0
        # (object_id, RowAction, version or None: read after the batch, previous or None)
        self.touched: list[tuple] = []


class _Kind:
    required: Sequence[str] = ()
    columns: Sequence[str] = ()
    batch_rows: int | None = None  # None: BATCH_ROWS

    def __init__(self, job: ImportJob, raw_headers: Sequence):
        self.job = job
        self.raw_headers = [cell_text(h).strip() for h in raw_headers]
        self.headers = _normalized(raw_headers)
        _required(self.headers, self.required, self.columns)

    def index_of(self, key: str) -> int | None:
        """The column of a field the service names ("custom_fields.budget" is its own column
        or, failing that, the JSON column "custom_fields")."""
        for name in (key, key.split(".", 1)[0]):
            if name in self.headers:
                return self.headers.index(name)
        return None

    def column_of(self, key: str) -> str:
        """The header as the file spells it, for a field the service names (through the
        job's mapping: the first column mapped to it)."""
        index = self.index_of(key)
        column = self.raw_headers[index] if index is not None else key
        for header, target in (self.job.mapping or {}).items():
            if target == column or (target == "owner_email" and column == "created_by_email"):
                return header
        return column

    def position(self, key: str) -> int:
        """Where the field's column is in the file (for listing a row's errors in order)."""
        column = self.column_of(key)
        columns = self.job.columns or self.raw_headers
        return columns.index(column) if column in columns else len(columns)

    def cell(self, cells: Sequence, key: str):
        index = self.index_of(key)
        return cells[index] if index is not None and index < len(cells) else None

    def check(self, rows: list[tuple[int, list]]) -> dict[int, dict[str, list[str]]]:
        raise NotImplementedError

    def write(self, rows: list[tuple[int, list]], *, dry_run: bool) -> Written:
        raise NotImplementedError

    def finish(self, job: ImportJob) -> None:
        """After the last batch (not for a dry run)."""


class ContactsKind(_Kind):
    """Contacts through contacts_upsert (older wins, E.164, audit): the reader of
    manage.py import_contacts and the admin."""

    required = REQUIRED_COLUMNS
    columns = IMPORT_COLUMNS

    def __init__(self, job, raw_headers):
        self.dry_created: set[str] = set()  # a dry run's "created" numbers, across batches
        self.reader = ContactRowReader(actor=job.created_by, headers=raw_headers)
        super().__init__(job, raw_headers)
        self.contact_list = (
            ContactList.live.filter(pk=job.contact_list_id).first() if job.contact_list_id else None
        )

    def check(self, rows):
        items, errors = self.reader.read([cells for _, cells in rows])
        for index, more in contacts_validate(items).items():
            for name, messages in more.items():
                errors.setdefault(index, {}).setdefault(name, []).extend(messages)
        phone_hints_add(items, errors)
        return {rows[i][0]: e for i, e in errors.items()}

    def write(self, rows, *, dry_run):
        batch = import_rows(reader=self.reader, rows=rows, dry_run=dry_run)
        if batch.errors:  # cannot happen after a clean check, unless a user was deleted
            raise ImportFileInvalid(
                f"Rows {rows[0][0]} to {rows[-1][0]} were refused on import: "
                + "; ".join(f"row {n}: {e}" for n, e in list(batch.errors.items())[:3])
            )
        written, seen, listed = Written(), {}, []
        counts = batch.counts()
        written.created, written.existing = counts[Result.CREATED], counts[Result.EXISTING]
        written.replaced = counts[Result.REPLACED]
        if dry_run:
            # Each batch of a dry run is rolled back: a number it "created" in an earlier
            # batch would be created again. The real import finds it existing.
            again = 0
            for outcome in batch.outcomes:
                if outcome.result == Result.CREATED:
                    number = outcome.phone_normalized
                    again += number in self.dry_created
                    self.dry_created.add(number)
            written.created -= again
            written.existing += again
            return written
        for outcome in batch.outcomes:
            pk = outcome.contact_id
            if outcome.result in (Result.CREATED, Result.REPLACED):
                previous = (
                    {name: change[0] for name, change in outcome.changes.items()}
                    if outcome.result == Result.REPLACED
                    else None
                )
                action = (
                    RowAction.CREATED if outcome.result == Result.CREATED else RowAction.REPLACED
                )
                seen.setdefault(pk, (action, previous, outcome.version))  # its first outcome
            else:
                seen.setdefault(pk, None)
        if self.contact_list is not None:
            listed = members_add(
                actor=self.job.created_by, contact_list=self.contact_list, contact_ids=list(seen)
            )
        # Their versions: the write's own, unless listing them took a newer one (read then).
        listing = self.contact_list is not None
        written.touched = [
            *((pk, action, None if listing else version, previous)
              for pk, done in seen.items() if done is not None
              for action, previous, version in (done,)),
            *((pk, RowAction.LISTED, None, None) for pk in listed),
        ]  # fmt: skip
        return written
        if self.contact_list is not None:
            added = members_add(
                actor=self.job.created_by, contact_list=self.contact_list, contact_ids=list(seen)
            )
            for pk in added:
                if seen[pk] is None:
                    seen[pk] = (RowAction.LISTED, None)
        written.touched = [
            (pk, action, None, previous)
            for pk, done in seen.items()
            if done is not None
            for action, previous in (done,)
        ]
        return written

    def finish(self, job):
        contacts_import_record(
            actor=job.created_by,
            source=_source(job),
            counts={"created": job.created, "existing": job.existing, "replaced": job.replaced},
        )


def _source(job: ImportJob) -> str:
    return f"import job {job.pk} ({job.filename})"


class DncKind(_Kind):
    """Numbers onto a DNC list through dnc_entries_load (dnc_entries_add's rules, for files:
    idempotent per list and number). What a batch created is recorded as the batch's version
    (one ImportRow per batch, not per number: see dnc_entries_unload)."""

    required = ("phone",)
    batch_rows = 20_000
    columns = ("phone", "reason", "source", "notes", "expires_at")
    example = {"phone": "+1 202 555 0143", "reason": "Asked not to be called",
               "source": "phone call", "expires_at": "2027-12-31T00:00:00Z"}  # fmt: skip

    def _items(self, rows) -> tuple[list[DncEntryInput], dict[int, dict]]:
        """Millions of rows: the cells are taken by position, not through a dict per row."""
        at = {name: self.headers.index(name) for name in self.columns if name in self.headers}
        phone, reason, source, notes, expires = (at.get(name) for name in self.columns)
        list_id = self.job.dnc_list_id

        def cell(cells, index):
            if index is None or index >= len(cells):
                return ""
            value = cells[index]
            return value if value.__class__ is str else cell_text(value)

        items, errors = [], {}
        for index, (_, cells) in enumerate(rows):
            expires_at = None
            if expires is not None and expires < len(cells) and cells[expires]:
                value = cells[expires]
                if isinstance(value, datetime):  # a spreadsheet's date cell: no timezone, UTC
                    expires_at = value if value.tzinfo else value.replace(tzinfo=UTC)
                elif cell_text(value).strip():
                    try:
                        expires_at = timestamp_parse(cell_text(value).strip())
                    except ValueError as exc:
                        errors[index] = {"expires_at": [str(exc)]}
            items.append(DncEntryInput(
                list_id, cell(cells, phone), cell(cells, reason), cell(cells, source),
                cell(cells, notes), expires_at,
            ))  # fmt: skip
        return items, errors

    def check(self, rows):
        items, errors = self._items(rows)
        for index, more in dnc_entries_validate(items).items():
            errors.setdefault(index, {}).update(more)
        return {rows[i][0]: e for i, e in errors.items()}

    def write(self, rows, *, dry_run):
        items, _ = self._items(rows)
        written = Written()
        with transaction.atomic():
            loaded = dnc_entries_load(actor=self.job.created_by, items=items)
            if dry_run:
                transaction.set_rollback(True)
        written.created, written.existing = loaded.created, loaded.existing
        if loaded.created:
            written.touched.append(
                (
                    self.job.dnc_list_id,
                    RowAction.CREATED,
                    loaded.version,
                    {"created": loaded.created},
                )
            )
        return written

    def finish(self, job):
        dnc_entries_load_record(
            actor=job.created_by, list_id=job.dnc_list_id, source=_source(job),
            counts={"created": job.created, "existing": job.existing},
        )  # fmt: skip


class CallsKind(_Kind):
    """Call history for one user through calls_upload (idempotent by the call's key)."""

    required = ("phone", "direction", "started_at")
    columns = ("phone", "direction", "started_at", "duration_seconds", "device_id",
               "client_call_id")  # fmt: skip
    example = {"phone": "+1 202 555 0143", "direction": "outgoing",
               "started_at": "2026-11-30T14:05:00Z", "duration_seconds": "95"}  # fmt: skip

    def _items(self, rows) -> list[dict]:
        items = []
        for _, cells in rows:
            record = dict(zip(self.headers, cells, strict=False))
            item = {
                key: cell_text(record.get(key)).strip() for key in self.columns if key in record
            }
            duration = item.get("duration_seconds", "")
            if duration == "":
                item.pop("duration_seconds", None)
            else:
                try:
                    item["duration_seconds"] = int(duration)
                except ValueError:
                    item["duration_seconds"] = duration  # call_validate says why
            item["direction"] = item.get("direction", "").lower() or None
            if not item.get("device_id"):
                item["device_id"] = self.job.device_id
            items.append(item)
        return items

    def check(self, rows):
        user, now = self.job.calls_user, timezone.now()
        errors = {}
        for (number, _), item in zip(rows, self._items(rows), strict=True):
            item_errors = call_validate(item, user=user, now=now)[1]
            if item_errors:
                errors[number] = item_errors
        return errors

    def write(self, rows, *, dry_run):
        written = Written()
        with transaction.atomic():
            result = calls_upload(user=self.job.calls_user, items=self._items(rows))
            if dry_run:
                transaction.set_rollback(True)
        written.created, written.existing = result.created, result.duplicates
        return written


KINDS = {ImportKind.CONTACTS: ContactsKind, ImportKind.DNC: DncKind, ImportKind.CALLS: CallsKind}


def template_csv(kind: str) -> str:
    """An importable template of ``kind``: its header and one example row."""
    if kind == ImportKind.CONTACTS:
        return contacts_template_csv()
    columns, example = KINDS[kind].columns, KINDS[kind].example
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerow([example.get(column, "") for column in columns])
    return out.getvalue()


def kind_for(job: ImportJob, raw_headers: Sequence) -> _Kind:
    """The kind's reader of this file; ImportFileInvalid when its header will not do."""
    return KINDS[job.kind](job, raw_headers)


# --- running a job ------------------------------------------------------------------------


def _errors_store(job: ImportJob, kind: _Kind, rows: list, errors: dict) -> None:
    cells_of = dict(rows)
    records = []
    for number in sorted(errors):
        keys = sorted(errors[number], key=kind.position)
        for key in keys:
            messages = errors[number][key]
            value = kind.cell(cells_of[number], key)
            text = cell_text(value).strip()
            code = "required" if not text and key in kind.required else _CODES.get(key, "invalid")
            if key.startswith("custom_fields"):
                code = "invalid_custom_field"
            for message in messages:
                records.append(ImportRowError(
                    job_id=job.pk, row=number, column=text_storable(kind.column_of(key))[:200],
                    code=code, message=text_storable(str(message)),
                    value=text_storable(str(cell_safe(text)))[:1000],
                ))  # fmt: skip
    copy_records(
        ImportRowError, records, fields=("job_id", "row", "column", "code", "message", "value")
    )


def _blank(cells) -> bool:
    """is_blank (a formatted but empty spreadsheet row), quick for a CSV's text cells."""
    for cell in cells:
        if cell.__class__ is str:
            if cell and not cell.isspace():
                return False
        elif cell_text(cell).strip():
            return False
    return True


def _batches(job: ImportJob, kind: _Kind, *, after: int = 0) -> Iterator[list[tuple[int, list]]]:
    """The file's data rows in batches, blank rows left out, from row ``after`` + 1."""
    size = kind.batch_rows or BATCH_ROWS
    rows = job_rows(job)
    next(rows, None)  # the header
    batch = []
    for number, cells in rows:
        if number <= after or _blank(cells):
            continue
        batch.append((number, cells))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_job_announce(job: ImportJob) -> None:
    """Tell the job's owner (their open event streams) where it stands, on commit."""
    notify(IMPORT, user=job.created_by_id, id=job.pk, status=job.status, progress=job.progress)


def _progress(job: ImportJob, done: int) -> int:
    passes = 1 if job.skip_invalid or job.dry_run else 2
    total = (job.total_rows or 0) * passes
    checked = passes == 2 and job.phase == ImportPhase.IMPORTING
    before = (job.total_rows or 0) if checked else 0
    return min(99, int(100 * (before + done) / total)) if total else 99


class _Ticker:
    """Saves the job's progress (and looks for a cancel) after every batch."""

    def __init__(self, job: ImportJob):
        self.job = job

    def tick(self, done: int, *, checkpoint: int | None = None, **counts) -> None:
        """Save the progress. With ``checkpoint`` (an import batch, inside its transaction)
        the job's row moves to it only from where this worker left it; if another worker
        has moved it, this one has lost the job (JobTakenOver: the batch rolls back)."""
        job = self.job
        job.processed_rows = done
        job.progress = _progress(job, done)
        for name, value in counts.items():
            setattr(job, name, value)
        row = ImportJob.objects.filter(pk=job.pk)
        if checkpoint is None:
            row.update(processed_rows=done, progress=job.progress, **counts)
            import_job_announce(job)
            return
        moved = row.filter(checkpoint_row=job.checkpoint_row).update(
            processed_rows=done, progress=job.progress, checkpoint_row=checkpoint, **counts
        )
        if not moved:
            raise JobTakenOver
        job.checkpoint_row = checkpoint
        import_job_announce(job)

    def stop_if_cancelled(self) -> None:
        """Between batches (after the last one committed)."""
        if ImportJob.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobStopped


def _phase(job: ImportJob, phase: str) -> None:
    job.phase, job.processed_rows = phase, 0
    ImportJob.objects.filter(pk=job.pk).update(phase=phase, processed_rows=0)


def import_job_claim(job_id) -> ImportJob | None:
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update(of=("self",))
            .select_related("created_by", "calls_user")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.status not in (ImportStatus.PENDING, ImportStatus.RUNNING):
            return None  # cancelled before it started, or done already
        if job.cancel_requested:
            _finish(job, ImportStatus.CANCELLED)
            return None
        job.status = ImportStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at"])
        import_job_announce(job)
    return job


def _finish(job: ImportJob, status: str, error: str = "") -> None:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    if status == ImportStatus.SUCCEEDED:
        job.progress, job.phase = 100, ImportPhase.DONE
    ImportJob.objects.filter(pk=job.pk).update(
        status=status, error=error, finished_at=job.finished_at, progress=job.progress,
        phase=job.phase,
    )  # fmt: skip
    import_job_announce(job)


def import_job_run(job_id, *, last_attempt: bool = True) -> str | None:
    """Work the job to its end (the worker's task): its final status. A database error is
    raised for the queue to retry the job, unless this is its ``last_attempt``: then the
    job fails (never left "running")."""
    job = import_job_claim(job_id)
    return import_job_work(job, last_attempt=last_attempt) if job is not None else None


def import_job_work(job: ImportJob, *, last_attempt: bool = True) -> str:
    """Work a claimed job (status running) to its end."""
    started = time.monotonic()
    try:
        with gc_paused():  # see crm.memory
            _run(job)
    except JobStopped:
        checking = job.phase == ImportPhase.CHECKING
        _finish(job, ImportStatus.CANCELLED, "Cancelled while checking; nothing was imported."
                if checking else "Cancelled; the rows before were imported (undo takes them "
                "back).")  # fmt: skip
    except JobTakenOver:
        log.warning("import job %s: another worker went on with it; this one stops", job.pk)
        return job.status
    except ImportFileInvalid as exc:
        _finish(job, ImportStatus.FAILED, str(exc))
    except (DatabaseError, psycopg.Error):
        if not last_attempt:
            raise  # the database went away: the queue retries the job (it goes on where it was)
        log.exception("import job %s failed on the database", job.pk)
        _finish(job, ImportStatus.FAILED, "The database failed during the import; the rows "
                "before were imported (undo takes them back). Try again later.")  # fmt: skip
    except Exception:
        log.exception("import job %s failed", job.pk)
        _finish(
            job,
            ImportStatus.FAILED,
            "The import stopped on an unexpected error; see the server log.",
        )
    log.info("import job %s: %s in %.1fs", job.pk, job.status, time.monotonic() - started)
    return job.status


def _run(job: ImportJob) -> None:
    kind = kind_for(job, job_header(job))
    resuming = job.phase == ImportPhase.IMPORTING and job.checkpoint_row > 0
    if job.total_rows is None:
        total = sum(len(batch) for batch in _batches(job, kind))
        job.total_rows = total
        ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
    if not job.total_rows:
        raise ImportFileInvalid("The file has no rows below its header.")
    ticker = _Ticker(job)
    if not (job.skip_invalid or job.dry_run or resuming):
        _phase(job, ImportPhase.CHECKING)
        ImportRowError.objects.filter(job=job).delete()
        done = invalid = 0
        for batch in _batches(job, kind):
            errors = kind.check(batch)
            _errors_store(job, kind, batch, errors)
            done += len(batch)
            invalid += len(errors)
            ticker.tick(done, invalid=invalid)
            ticker.stop_if_cancelled()
        if invalid:
            raise ImportFileInvalid(
                f"{invalid} of {job.total_rows} rows are invalid; nothing was imported "
                "(see the errors file, or import with skip_invalid to import the valid rows)."
            )
    if not resuming:
        _phase(job, ImportPhase.IMPORTING)
    done = job.processed_rows
    for batch in _batches(job, kind, after=job.checkpoint_row):
        with transaction.atomic():
            errors = kind.check(batch) if job.skip_invalid or job.dry_run else {}
            if errors:
                _errors_store(job, kind, batch, errors)
            valid = [row for row in batch if row[0] not in errors]
            written = kind.write(valid, dry_run=job.dry_run) if valid else Written()
            if not job.dry_run:
                _touched_store(job, written)
            done += len(batch)
            ticker.tick(
                done,
                checkpoint=batch[-1][0],
                created=job.created + written.created,
                existing=job.existing + written.existing,
                replaced=job.replaced + written.replaced,
                invalid=job.invalid + len(errors),
            )
        ticker.stop_if_cancelled()
    if not job.dry_run:
        kind.finish(job)
    _finish(job, ImportStatus.SUCCEEDED)


def _touched_store(job: ImportJob, written: Written) -> None:
    """What the batch did, row by row, with each record's version after it (one query)."""
    if not written.touched:
        return
    unknown = [pk for pk, _, version, _ in written.touched if version is None]
    versions = (
        dict(Contact.objects.filter(pk__in=unknown).values_list("pk", "version")) if unknown else {}
    )
    copy_records(
        ImportRow,
        (
            ImportRow(job_id=job.pk, object_id=pk, action=action,
                      version=versions[pk] if version is None else version, previous=previous)
            for pk, action, version, previous in written.touched
        ),
        fields=("job_id", "object_id", "action", "version", "previous"),
    )  # fmt: skip


def import_files_purge(*, now=None) -> int:
    """Delete the stored files of jobs finished more than UNDO_DAYS ago (personal data kept
    no longer than it serves); the jobs, their counts and errors stay. How many."""
    now = now or timezone.now()
    done = ImportJob.objects.filter(
        finished_at__lt=now - timedelta(days=UNDO_DAYS), status__in=FINISHED
    ).exclude(file="")
    purged = 0
    for job in done.iterator():
        job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")
        purged += 1
    return purged + _pending_purge(now - timedelta(days=1))


PENDING = "imports/pending/"  # uploads a preview keeps for "import the valid rows"


def _pending_purge(before) -> int:
    """Kept preview uploads nobody imported within a day."""
    try:
        tokens, _ = default_storage.listdir(PENDING)
    except (FileNotFoundError, NotImplementedError):
        return 0
    purged = 0
    for token in tokens:
        for name in default_storage.listdir(f"{PENDING}{token}")[1]:
            path = f"{PENDING}{token}/{name}"
            if default_storage.get_modified_time(path) < before:
                default_storage.delete(path)
                purged += 1
    return purged
