"""Import a large CSV of contacts through the same service as the API and the admin.

All or nothing, in two passes over the file:

1. Check. Each batch is read and validated by the service's own checks
   (contacts_validate: names, numbers, times, and the creators' emails), without touching the
   contacts table. If any row is invalid, the bad rows are listed with their numbers, nothing
   is imported and the command fails. With --dry-run each batch instead goes through
   contacts_upsert in a transaction that is rolled back, to count what it would do.
2. Import. The same batches again through contacts_upsert, each committed in its own
   transaction.

Why not one transaction for the whole file: contacts_upsert holds the contacts change-feed lock
(ledger/versioning.py) until its transaction ends, and a 100,000-row import in a single
transaction would stall every phone's sync and every contact write for its whole duration.
Batches hold it for a fraction of a second at a time.

Once the check has passed, the import cannot meet an invalid row (validity does not depend on
the database). Should it stop for another reason (the database went away), the batches before
stay imported and running the same file again is safe: those rows come back as "existing",
because the older (or equally old) record always wins.
"""

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Role, User
from contacts.resources import ContactRowReader, ImportFileInvalid, import_rows, is_blank
from contacts.services import Result, contacts_import_record
from crm.memory import gc_paused

MAX_LISTED_ERRORS = 200


@dataclass
class Tally:
    rows: int = 0
    created: int = 0
    existing: int = 0
    replaced: int = 0
    invalid: int = 0
    # (row number, line number, {column: [message, ...]}), the first MAX_LISTED_ERRORS only
    errors: list[tuple[int, int, dict]] = field(default_factory=list)

    def counts(self) -> str:
        return (
            f"created {self.created}, existing {self.existing}, replaced {self.replaced}, "
            f"errors {self.invalid}"
        )


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV file with the columns name, phone, created_at (optional, "
        "ISO 8601) and created_by_email (optional; default: the --as user), like the admin's "
        "template. The whole file is checked first: one invalid row and nothing is imported. "
        "Numbers are normalised and deduplicated by the contacts service (the older record wins)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file (UTF-8, header row first)")
        parser.add_argument(
            "--as",
            dest="as_email",
            metavar="EMAIL",
            help="the user recorded as doing the import and the default creator "
            "(default: the first admin)",
        )
        parser.add_argument("--batch-size", type=int, default=1000, metavar="N")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="only check the file and count what would happen (each batch is compared "
            "with the database as it is; a number repeated in two batches counts in both)",
        )

    def handle(self, *args, file: Path, as_email, batch_size: int, dry_run: bool, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        actor = self._actor(as_email)
        self.show_progress = options["verbosity"] > 0
        started = time.monotonic()
        self.stdout.write(f"Importing {file} as {actor.email}.")

        total = self._count_rows(file)
        checked = self._run(
            file, actor, batch_size, total, dry_run=True, check_only=not dry_run, label="Checking"
        )
        if checked.invalid:
            self._list_errors(checked)
            raise CommandError(
                f"{checked.invalid} of {checked.rows} rows are invalid; nothing was imported."
            )
        self.stdout.write(f"Checked {checked.rows} rows in {time.monotonic() - started:.1f}s.")
        if dry_run:
            self.stdout.write(
                f"Dry run, nothing was saved. {checked.rows} rows would give: {checked.counts()}."
            )
            return

        imported = self._run(
            file, actor, batch_size, total, dry_run=False, check_only=False, label="Importing"
        )
        contacts_import_record(
            actor=actor,
            source=f"import_contacts {file.name}",
            counts={
                "created": imported.created,
                "existing": imported.existing,
                "replaced": imported.replaced,
            },
        )
        elapsed = time.monotonic() - started
        rate = imported.rows / elapsed if elapsed else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {imported.rows} rows in {elapsed:.1f}s ({rate:,.0f} rows/s): "
                f"{imported.counts()}."
            )
        )

    def _actor(self, email: str | None) -> User:
        if email:
            user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
            if user is None:
                raise CommandError(f"No active user with the email {email}.")
            return user
        user = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("created_at").first()
        if user is None:
            raise CommandError("There is no active admin; name the importing user with --as.")
        return user

    def _open(self, file: Path):
        return file.open(newline="", encoding="utf-8-sig")

    def _count_rows(self, file: Path) -> int:
        try:
            with self._open(file) as handle:
                return max(0, sum(1 for row in csv.reader(handle) if not is_blank(row)) - 1)
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text; save it as CSV UTF-8.") from None

    def _run(
        self,
        file: Path,
        actor: User,
        batch_size: int,
        total: int,
        *,
        dry_run: bool,
        check_only: bool,
        label: str,
    ) -> Tally:
        tally = Tally()
        with (
            gc_paused(),  # see crm.memory
            self._open(file) as handle,
            tqdm(
                total=total, unit="row", desc=label, disable=not self.show_progress or None
            ) as progress,
        ):
            rows = csv.reader(handle)
            try:
                reader = ContactRowReader(actor=actor, headers=next(rows, []))
            except ImportFileInvalid as exc:
                raise CommandError(str(exc)) from None
            batch: list[tuple[int, list[str]]] = []
            lines: dict[int, int] = {}
            number = 0
            for cells in rows:
                if not cells:
                    continue  # an empty line is no row (as in the admin's CSV reader)
                number += 1
                if is_blank(cells):
                    continue
                batch.append((number, cells))
                lines[number] = rows.line_num
                if len(batch) == batch_size:
                    self._batch(reader, batch, lines, tally, dry_run=dry_run, check_only=check_only)
                    progress.update(len(batch))
                    batch, lines = [], {}
            if batch:
                self._batch(reader, batch, lines, tally, dry_run=dry_run, check_only=check_only)
                progress.update(len(batch))
        return tally

    def _batch(self, reader, batch, lines, tally: Tally, *, dry_run: bool, check_only: bool):
        result = import_rows(reader=reader, rows=batch, dry_run=dry_run, check_only=check_only)
        tally.rows += len(batch)
        if result.errors:
            tally.invalid += len(result.errors)
            for number, errors in result.errors.items():
                if len(tally.errors) < MAX_LISTED_ERRORS:
                    tally.errors.append((number, lines[number], errors))
            if not dry_run:
                # Cannot happen after a clean check, unless the file changed in between.
                self._list_errors(tally)
                raise CommandError(
                    f"Rows {batch[0][0]} to {batch[-1][0]} were refused; the rows before them "
                    "were imported. Fix the file and run it again: imported rows will be "
                    "found as existing."
                )
            return
        counts = result.counts()
        tally.created += counts[Result.CREATED]
        tally.existing += counts[Result.EXISTING]
        tally.replaced += counts[Result.REPLACED]

    def _list_errors(self, tally: Tally) -> None:
        for number, line, errors in tally.errors:
            reasons = "; ".join(
                f"{column}: {' '.join(messages)}" for column, messages in errors.items()
            )
            self.stderr.write(f"row {number} (line {line}): {reasons}")
        if tally.invalid > len(tally.errors):
            self.stderr.write(f"... and {tally.invalid - len(tally.errors)} more invalid rows.")
