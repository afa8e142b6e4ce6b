"""Contacts in and out of spreadsheets: the admin's import/export and `manage.py import_contacts`.

An import decides nothing by itself. Rows are read into ``ContactInput`` and handed to
``contacts.services.contacts_upsert``, which validates, normalises the number and applies the
older-wins rule (inside the file and against the database) exactly as the API does. This module
only translates cells into inputs and the service's answers and errors back into rows.
"""

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import phonenumbers
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from import_export import fields, resources
from import_export.results import Error, Result, RowResult

from accounts.models import User
from contacts.custom_fields import custom_fields_active, custom_value_from_cell
from contacts.errors import ContactBatchInvalid
from contacts.models import Contact, ContactList
from contacts.services import (
    DETAILS,
    ContactInput,
    ContactOutcome,
    contacts_import_record,
    contacts_numbers_of,
    contacts_upsert,
    contacts_validate,
)
from contacts.services import Result as Outcome
from crm.http.exports import cell_safe
from crm.phones import InvalidPhone, phone_normalize
from crm.timestamps import iso_utc, timestamp_parse

# The columns of an import file, in template order. Extra columns (an export's id,
# phone_normalized, version) are ignored, so an export can be edited and imported again.
# The details columns (email, company, title, notes) are optional: files without them import.
# Custom fields come as one JSON column ``custom_fields`` (as exported) or as a column per
# field named ``custom_fields.<key>``.
IMPORT_COLUMNS = (
    "name", "phone", *DETAILS, "tags", "custom_fields", "created_at", "created_by_email",
)  # fmt: skip
CUSTOM_PREFIX = "custom_fields."
REQUIRED_COLUMNS = ("name", "phone")
EXPORT_COLUMNS = (
    "id", "name", "phone", "phone_normalized", *DETAILS, "tags", "custom_fields", "lists",
    "created_at", "created_by_email",
)  # fmt: skip
TEMPLATE_EXAMPLE = {
    "name": "Ada Lovelace",
    "phone": "+1 202 200 0143",
    "email": "ada@example.com",
    "company": "Analytical Engines Ltd",
    "title": "",
    "notes": "",
    "tags": "customer, vip",
    "custom_fields": "",
    "created_at": "2024-05-01T09:30:00Z",
    "created_by_email": "",
}

# How many rows of a preview the admin renders (the totals always count every row).
PREVIEW_ROWS = 1000


# --- spreadsheet formula injection ------------------------------------------------------------

# One rule for every file the server writes (crm/http/exports.py). django-import-export's own
# IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT is not used: it only handles "=", deletes it instead
# of quoting, turns every cell (numbers too) into text and rebuilds the dataset row by row.
spreadsheet_safe = cell_safe


class SpreadsheetSafeMixin:
    """For export resources: every exported text cell goes through spreadsheet_safe()."""

    def export_field(self, field, instance, **kwargs):
        return spreadsheet_safe(super().export_field(field, instance, **kwargs))


# --- reading rows -------------------------------------------------------------------------------


class ImportFileInvalid(ValueError):
    """The file as a whole cannot be imported (e.g. a required column is missing)."""


def import_headers(raw_headers: Iterable) -> list[str]:
    """Header cells as column names: trimmed, lower case, spaces as underscores."""
    headers = [str(h or "").strip().lower().replace(" ", "_") for h in raw_headers or []]
    missing = [column for column in REQUIRED_COLUMNS if column not in headers]
    if missing:
        raise ImportFileInvalid(
            f"The file has no {' or '.join(missing)} column. The first row must name the "
            f"columns: {', '.join(IMPORT_COLUMNS)} (download the template)."
        )
    return headers


def _text(value) -> str:
    """A cell as text. Spreadsheets hand over numbers for digit-only cells (a phone typed as
    12025550143 arrives as an int or a float)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _created_at(value) -> datetime | None:
    """ISO 8601 text with a timezone, or a spreadsheet date cell. Spreadsheet cells carry no
    timezone; they are read as UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = _text(value).strip()
    return timestamp_parse(text) if text else None


_TAG_SEPARATORS = re.compile(r"[,;]")


def _tags(value) -> list[str]:
    """A tags cell: tags separated by commas or semicolons ("customer, vip")."""
    return [tag for tag in (t.strip() for t in _TAG_SEPARATORS.split(_text(value))) if tag]


def _custom_json(cell, row_errors: dict) -> dict:
    text = _text(cell).strip()
    if not text:
        return {}
    try:
        values = json.loads(text)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        row_errors["custom_fields"] = ['A JSON object, e.g. {"budget": 1200}.']
        return {}
    return values


def phone_and_others(candidates: Sequence[str]) -> tuple[str, list[str]]:
    """The one number a contact keeps out of several (a file's phone columns, a vCard's TEL
    lines): the first valid one; the others, as written, go to its notes. None valid: the
    first, so the import says why."""
    numbers = [text for text in (_text(c).strip() for c in candidates) if text]
    if not numbers:
        return "", []
    for index, number in enumerate(numbers):
        try:
            phone_normalize(number)
        except InvalidPhone:
            continue
        return number, numbers[:index] + numbers[index + 1 :]
    return numbers[0], numbers[1:]


def notes_with(notes: str, *, numbers: Sequence[str] = (), emails: Sequence[str] = ()) -> str:
    """A contact's notes with the numbers and addresses it could not keep as its own."""
    lines = [notes.strip()] if notes and notes.strip() else []
    if numbers:
        lines.append("Other numbers: " + ", ".join(numbers))
    if emails:
        lines.append("Other emails: " + ", ".join(emails))
    return "\n".join(lines)


class ContactRowReader:
    """Turns rows of one file into ContactInput, resolving created_by_email to users.

    Kept across the batches of a file so each creator email is looked up once.
    """

    def __init__(self, *, actor: User, headers: Iterable):
        self.actor = actor
        self.headers = import_headers(headers)
        self._users: dict[str, User | None] = {}
        custom_columns = [h for h in self.headers if h.startswith(CUSTOM_PREFIX)]
        self._definitions = custom_fields_active() if custom_columns else {}
        self._has_custom = bool(custom_columns) or "custom_fields" in self.headers

    def _load_users(self, emails: set[str]) -> None:
        unknown = emails - self._users.keys()
        if not unknown:
            return
        found = {u.email: u for u in User.objects.filter(email__in=unknown)}
        for email in unknown:
            self._users[email] = found.get(email)

    def _custom(self, record: dict, row_errors: dict) -> dict | None:
        """The row's custom fields: the JSON column, then the per-field columns (blank cells
        are no value). None when the file has neither."""
        values = (
            _custom_json(record["custom_fields"], row_errors) if "custom_fields" in record else {}
        )
        for header, cell in record.items():
            if header.startswith(CUSTOM_PREFIX) and _text(cell).strip():
                key = header[len(CUSTOM_PREFIX) :]
                field = self._definitions.get(key)
                values[key] = custom_value_from_cell(field, cell) if field else cell
        if (
            not values
            and "custom_fields" not in record
            and not any(h.startswith(CUSTOM_PREFIX) for h in record)
        ):
            return None
        return values

    def read(
        self, rows: Sequence[Sequence]
    ) -> tuple[list[ContactInput], dict[int, dict[str, list[str]]]]:
        """One ContactInput per row (in order) and the errors found while reading, by index.

        A row with a reading error still yields an input (with the bad cell left out), so that
        the service's own validation reports the row's other problems in the same pass.
        """
        records = [dict(zip(self.headers, row, strict=False)) for row in rows]
        emails = [_text(r.get("created_by_email")).strip().lower() for r in records]
        self._load_users({e for e in emails if e})
        items, errors = [], {}
        for index, (record, email) in enumerate(zip(records, emails, strict=True)):
            row_errors = {}
            created_by = None
            if email:
                created_by = self._users[email]
                if created_by is None:
                    row_errors["created_by_email"] = [f"No user with the email {email}."]
            try:
                created_at = _created_at(record.get("created_at"))
            except ValueError as exc:
                created_at = None
                row_errors["created_at"] = [str(exc)]
            items.append(
                ContactInput(
                    name=_text(record.get("name")),
                    phone=_text(record.get("phone")),
                    created_at=created_at,
                    created_by=created_by,
                    **{name: _text(record[name]) for name in DETAILS if name in record},
                    tags=_tags(record["tags"]) if "tags" in record else None,
                    custom_fields=self._custom(record, row_errors),
                )
            )
            if row_errors:
                errors[index] = row_errors
        return items, errors


@dataclass
class ImportBatch:
    """What happened to a batch of rows: an outcome per row, or the errors and nothing saved."""

    outcomes: list[ContactOutcome] = field(default_factory=list)
    # row number -> {column: [message, ...]}
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Rows by outcome: created, existing, replaced."""
        counts = dict.fromkeys((Outcome.CREATED, Outcome.EXISTING, Outcome.REPLACED), 0)
        for outcome in self.outcomes:
            counts[outcome.result] += 1
        return counts


def is_blank(row: Sequence) -> bool:
    """Spreadsheets keep formatted but empty rows; they are not contacts."""
    return not any(_text(cell).strip() for cell in row)


def import_rows(
    *,
    reader: ContactRowReader,
    rows: Sequence[tuple[int, Sequence]],
    dry_run: bool,
    check_only: bool = False,
    keep_numbers: bool = False,
) -> ImportBatch:
    """Read ``rows`` (row number, cells) and hand them to contacts_upsert in one call.

    All or nothing: if any row is invalid, nothing is saved and every bad row is reported by
    its number. With ``dry_run`` the upsert runs and is rolled back, so the outcomes (created,
    existing, replaced) are the ones a real import would have against the database as it is.
    With ``check_only`` the rows are only validated (contacts_validate: the upsert's own
    checks, without the database) and no outcomes are returned.

    ``keep_numbers`` (the admin's preview and confirm): a clean preview keeps the numbers it
    parsed (see PreviewNumbers), and the import of the same rows reuses them.
    """
    items, errors = reader.read([cells for _, cells in rows])
    outcomes: list[ContactOutcome] = []
    if items and check_only:
        _merge_errors(errors, contacts_validate(items))
    elif items:
        memo = PreviewNumbers(items) if keep_numbers else None
        numbers = memo.get() if memo is not None and not dry_run else None
        with transaction.atomic():
            try:
                outcomes = contacts_upsert(
                    actor=reader.actor, items=items, dry_run=dry_run, numbers=numbers
                )
            except ContactBatchInvalid as exc:
                _merge_errors(errors, exc.errors)
            if errors or dry_run:
                transaction.set_rollback(True)
        if memo is not None and not errors:
            if dry_run:
                memo.set(contacts_numbers_of(items, outcomes))
            elif numbers is not None:
                memo.delete()
    if errors:
        phone_hints_add(items, errors)
        return ImportBatch(errors={rows[i][0]: errors[i] for i in sorted(errors)})
    return ImportBatch(outcomes=outcomes)


def phone_hints_add(items: Sequence[ContactInput], errors: dict[int, dict]) -> None:
    """To each refused phone that is valid with a "+" in front, the hint that says so."""
    for index, row_errors in errors.items():
        if "phone" in row_errors and (hint := lost_plus_hint(items[index].phone)):
            row_errors["phone"] = [*row_errors["phone"], hint]


def lost_plus_hint(phone) -> str | None:
    """A hint for a number that is valid with a "+" in front: spreadsheets drop a leading "+"
    (and read the number as a number) unless the cell is formatted as text."""
    text = _text(phone).strip()
    if not text.isdigit() or len(text) < 8:
        return None
    try:
        phone_normalize("+" + text)
    except InvalidPhone:
        return None
    return (
        f'Did the "+" go missing? +{text} is a valid number: a spreadsheet drops the "+" '
        "unless the cell is formatted as text."
    )


class PreviewNumbers:
    """The E.164 numbers of a clean preview, kept for its confirm step.

    Parsing numbers is most of what validating a row costs, and the confirm step (often in
    another worker process, so without phone_normalize's memo) would parse every one again.
    The preview stores each phone as written -> the E.164 form phone_normalize gave it, in the
    cache where import-export keeps the uploaded file itself, under a digest of the file's
    phones, the default region and the phonenumbers version. The confirm step of the same
    rows finds it and skips those parses; any other file (or an expired entry) is parsed as
    usual. Names, times and creators are validated again either way, and the older-wins
    lookup runs against the database as it is at confirm time.
    """

    PREFIX = "contacts-import-numbers:"
    TIMEOUT = 3600  # seconds; a later confirm just parses again

    def __init__(self, items: Sequence[ContactInput]):
        digest = hashlib.sha256(
            f"{settings.PHONE_DEFAULT_REGION}\0{phonenumbers.__version__}".encode()
        )
        for item in items:
            digest.update(b"\0" + str(item.phone).encode("utf-8", "surrogatepass"))
        self.key = self.PREFIX + digest.hexdigest()

    def get(self) -> dict[str, str] | None:
        return cache.get(self.key)

    def set(self, numbers: dict[str, str]) -> None:
        cache.set(self.key, numbers, self.TIMEOUT)

    def delete(self) -> None:
        cache.delete(self.key)


def _merge_errors(errors: dict, more: dict[int, dict[str, list[str]]]) -> None:
    for index, field_errors in more.items():
        row_errors = errors.setdefault(index, {})
        for name, messages in field_errors.items():
            row_errors.setdefault(name, []).extend(messages)


def template_csv() -> str:
    """An importable template: the header and one example row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=IMPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerow(TEMPLATE_EXAMPLE)
    return out.getvalue()


# --- the admin resource -------------------------------------------------------------------------

# import-export's row kinds, for its totals and its admin log.
_IMPORT_TYPES = {
    Outcome.CREATED: RowResult.IMPORT_TYPE_NEW,
    Outcome.REPLACED: RowResult.IMPORT_TYPE_UPDATE,
    Outcome.EXISTING: RowResult.IMPORT_TYPE_SKIP,
}


class ContactImportResult(Result):
    """import-export's Result plus what the contacts preview shows."""

    def __init__(self):
        super().__init__()
        self.outcome_totals = {Outcome.CREATED: 0, Outcome.EXISTING: 0, Outcome.REPLACED: 0}
        self.ignored_columns: list[str] = []  # the file's columns the import leaves out

    @property
    def preview_rows(self):
        return self.rows[:PREVIEW_ROWS]

    @property
    def invalid_rows_shown(self):
        return self.invalid_rows[:PREVIEW_ROWS]

    @property
    def hidden_count(self) -> int:
        return max(0, len(self.rows) - PREVIEW_ROWS)

    @property
    def hidden_invalid_count(self) -> int:
        return max(0, len(self.invalid_rows) - PREVIEW_ROWS)


class ContactResource(SpreadsheetSafeMixin, resources.ModelResource):
    created_at = fields.Field(column_name="created_at", readonly=True)
    created_by_email = fields.Field(
        attribute="created_by__email", column_name="created_by_email", readonly=True
    )
    tags = fields.Field(column_name="tags", readonly=True)
    custom_fields = fields.Field(column_name="custom_fields", readonly=True)
    lists = fields.Field(column_name="lists", readonly=True)

    class Meta:
        model = Contact
        fields = (*EXPORT_COLUMNS, "version")
        export_order = fields
        skip_diff = True

    def get_queryset(self):
        return Contact.live.select_related("created_by").order_by("name_search", "id")

    def dehydrate_tags(self, contact: Contact) -> str:
        return ", ".join(contact.tags)

    def dehydrate_custom_fields(self, contact: Contact) -> str:
        return (
            json.dumps(contact.custom_fields, ensure_ascii=False) if contact.custom_fields else ""
        )

    def dehydrate_lists(self, contact: Contact) -> str:
        """The names of its lists (export only: an import ignores the column)."""
        if not hasattr(self, "_list_names"):
            self._list_names = dict(ContactList.objects.values_list("pk", "name"))
        return ", ".join(sorted(self._list_names.get(pk, "") for pk in contact.lists))

    def dehydrate_created_at(self, contact: Contact) -> str:
        # Text in both CSV and XLSX: the same ISO form the API speaks, and importable as is.
        return iso_utc(contact.created_at)

    def get_user_visible_fields(self):
        # What the import page lists as the columns it reads.
        return [self.fields[name] for name in IMPORT_COLUMNS]

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        """The whole file in one contacts_upsert call instead of import-export's row-by-row
        machinery: one transaction, a constant number of queries, and the service decides.

        The preview (``dry_run``) runs the upsert and rolls it back; the confirm step runs it
        again for real. Either every row is saved or none is.
        """
        result = ContactImportResult()
        result.diff_headers = list(IMPORT_COLUMNS)
        result.total_rows = len(dataset)
        try:
            # The admin passes the signed-in user: the actor and the default creator.
            reader = ContactRowReader(actor=kwargs["user"], headers=dataset.headers)
        except ImportFileInvalid as exc:
            result.append_base_error(Error(exc))
            return result
        result.ignored_columns = [
            str(h) for h, name in zip(dataset.headers, reader.headers, strict=False)
            if name not in IMPORT_COLUMNS and not name.startswith(CUSTOM_PREFIX)
        ]  # fmt: skip
        # Numbered as a spreadsheet shows them: the header is row 1.
        rows = [(n, cells) for n, cells in enumerate(dataset, 2) if not is_blank(cells)]
        if not rows:
            result.append_base_error(Error(ImportFileInvalid("The file has no contacts in it.")))
            return result
        batch = import_rows(reader=reader, rows=rows, dry_run=dry_run, keep_numbers=True)
        if batch.errors:
            cells_of = dict(rows)
            for number, errors in batch.errors.items():
                record = dict(zip(reader.headers, cells_of[number], strict=False))
                result.append_invalid_row(number, record, _validation_error(errors))
            return result
        for (number, cells), outcome in zip(rows, batch.outcomes, strict=True):
            record = dict(zip(reader.headers, cells, strict=False))
            row_result = _row_result(number, record, outcome)
            result.append_row_result(row_result)
            result.increment_row_result_total(row_result)
            result.outcome_totals[outcome.result] += 1
        if not dry_run:
            contacts_import_record(
                actor=reader.actor, source="admin", counts=dict(result.outcome_totals)
            )
        return result


def _validation_error(errors: dict[str, list[str]]) -> ValidationError:
    return ValidationError({name: list(messages) for name, messages in errors.items()})


def _row_result(number: int, record: dict, outcome: ContactOutcome) -> RowResult:
    row_result = _ContactRowResult(outcome)
    row_result.number = number
    row_result.outcome = outcome.result
    # What a replaced row overwrites: the younger record's name and creation time.
    row_result.replaced = (
        f"{outcome.changes['name'][0]} (created {outcome.changes['created_at'][0][:10]})"
        if outcome.result == Outcome.REPLACED and "name" in outcome.changes
        else ""
    )
    row_result.import_type = _IMPORT_TYPES[outcome.result]
    row_result.row_values = record
    return row_result


class _ContactRowResult(RowResult):
    """A row result whose contact (``instance``, ``object_id``, ``object_repr``) is looked at
    only when something reads it: the preview shows the first PREVIEW_ROWS rows, the confirm
    step none (there is no admin log), so most rows never need a Contact instance."""

    _LAZY = ("instance", "object_id", "object_repr")

    def __init__(self, outcome: ContactOutcome):
        super().__init__()
        self._outcome = outcome
        for name in self._LAZY:
            delattr(self, name)  # set to None by RowResult; read through __getattr__

    def __getattr__(self, name):
        if name not in _ContactRowResult._LAZY or "_outcome" not in self.__dict__:
            raise AttributeError(name)
        contact = self._outcome.contact
        self.instance, self.object_id, self.object_repr = contact, contact.pk, str(contact)
        return self.__dict__[name]
