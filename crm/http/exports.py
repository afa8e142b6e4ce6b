"""Streamed file answers: CSV (UTF-8 with a BOM, so spreadsheet programs read accents right)
and XLSX, in constant memory whatever the number of rows.

Rows come from a server-side cursor (``QuerySet.iterator``); CSV is written as it is read,
XLSX through openpyxl's write-only mode into a temporary file that is then streamed. Every text
cell goes through ``cell_safe`` (no spreadsheet reads it as a formula)."""

import csv
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Func, TextField
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from crm.http.streaming import FileResponse, StreamingHttpResponse
from crm.timestamps import iso_utc

FORMATS = ("csv", "xlsx")
CHUNK_ROWS = 2000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"\+[0-9 ().-]*[0-9][0-9 ().-]*")


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=list(FORMATS), required=False, default="csv",
        help_text="csv (UTF-8 with a BOM) or xlsx.",
    )  # fmt: skip


class ExportNegotiationMixin:
    """For viewsets with an ``export`` action: there ``?format=`` names the file's format, not
    one of DRF's renderers (which would answer 404 for csv); errors stay JSON. Decided by the
    route, so that an undeclared method on it still gets its 405."""

    def perform_content_negotiation(self, request, force=False):
        match = getattr(request, "resolver_match", None)
        if match is not None and (match.url_name or "").endswith("-export"):
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force)


def cell_safe(value):
    """Return ``value`` so that no spreadsheet reads it as a formula (OWASP "CSV injection").

    A text cell starting with =, +, -, @, tab or CR gets a leading apostrophe, which spreadsheets
    treat as "this is text". The rule looks at the content, not the column: a contact's name or
    its phone number *as entered* can both hold ``=HYPERLINK(...)``, while E.164 numbers and
    other plain "+digits" stay intact (a spreadsheet can only compute such a cell, never call
    a function, open a link or run a command).
    """
    formula = isinstance(value, str) and value.startswith(_FORMULA_PREFIXES)
    if formula and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class _Echo:
    def write(self, value):
        return value


def _csv_cell(value):
    if isinstance(value, datetime):
        return iso_utc(value)
    return "" if value is None else cell_safe(value)


def _xlsx_cell(value):
    if isinstance(value, datetime):  # a real date cell; spreadsheets have no timezones: UTC
        return value.astimezone(UTC).replace(tzinfo=None)
    return cell_safe(value)


def export_response(
    *,
    fmt: str,
    filename: str,
    header: Sequence[str],
    rows: Iterable[dict],
    cells: Callable[[dict], Sequence],
):
    """The file answer for ``rows`` (dicts, read lazily), each turned into ``cells``."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    name = f"{filename}-{stamp}.{fmt}"
    if fmt == "csv":
        writer = csv.writer(_Echo())

        def lines():
            yield "\ufeff" + writer.writerow(header)
            for row in rows:
                yield writer.writerow([_csv_cell(v) for v in cells(row)])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(filename)
    sheet.append(list(header))
    for row in rows:
        sheet.append([_xlsx_cell(v) for v in cells(row)])
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it when sent
    book.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=name, content_type=XLSX_TYPE)


def vcards_response(*, filename: str, cards: Iterable[str]) -> StreamingHttpResponse:
    """vCards (each a text, read lazily) as one streamed .vcf file."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(cards, content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.vcf"'
    return response


# --- files PostgreSQL writes ----------------------------------------------------------------
# A CSV export of a million rows spent most of its time in Python (a cell at a time through
# csv and cell_safe, timestamps parsed and formatted again). A CSV export can instead be one
# COPY (query) TO STDOUT: the query names each cell as an expression, CellSafe being
# cell_safe's rule in SQL (a test holds the two to the same answers), and the rows stream
# from PostgreSQL as they are produced (no cursor WITH HOLD materialising the result first).

_FORMULA_SQL = r"^[=+@\t\r-]"
_PLAIN_NUMBER_SQL = r"^\+[0-9 ().-]*[0-9][0-9 ().-]*$"


class CellSafe(Func):
    """cell_safe(text) in SQL: a leading apostrophe on text a spreadsheet would read as a
    formula (starting with = + - @ tab or CR), unless it is a plain "+digits" number."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(CASE WHEN {sql} ~ %s AND {sql} !~ %s THEN %s || {sql} ELSE {sql} END)",
            [*params, _FORMULA_SQL, *params, _PLAIN_NUMBER_SQL, "'", *params, *params],
        )


COPY_CHUNK_BYTES = 256 * 1024


def copy_csv_response(*, filename: str, header: Sequence[str], queryset) -> StreamingHttpResponse:
    """``queryset`` (its selected columns, one per cell, in ``header`` order) as a CSV file
    written by PostgreSQL: UTF-8 with a BOM, streamed in chunks as COPY produces them."""
    sql, params = queryset.query.sql_with_params()
    writer = csv.writer(_Echo())

    def chunks():
        yield ("\ufeff" + writer.writerow(header)).encode()
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy,
        ):
            pending, size = [], 0
            for block in copy:
                pending.append(bytes(block))
                size += len(block)
                if size >= COPY_CHUNK_BYTES:
                    yield b"".join(pending)
                    pending, size = [], 0
            if pending:
                yield b"".join(pending)

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response
