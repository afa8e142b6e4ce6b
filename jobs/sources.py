"""The files an import reads, as rows: (row number, cells), the header first.

- CSV (UTF-8, a BOM is fine) and XLSX (the first sheet): rows as a spreadsheet numbers them,
  the header being row 1.
- vCard (``.vcf``, one card or many, 2.1/3.0/4.0: contacts/vcards.py): a header of our own
  contact columns, then one row per card, numbered from 1 (the first card).
- The call log of the Android app "SMS Backup & Restore" (``.xml``, ``<call number= duration=
  date= type= />``): a header of our own call columns, then one row per call, numbered from 1.

The last two need no column mapping: their fields are known.
"""

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

from defusedxml import ElementTree

from contacts.resources import ImportFileInvalid, notes_with, phone_and_others
from contacts.vcards import VcardsInvalid, vcards_read
from crm.timestamps import iso_utc

XLSX_SUFFIXES = (".xlsx", ".xlsm")
VCARD_SUFFIXES = (".vcf", ".vcard")
XML_SUFFIXES = (".xml",)
VCARD_HEADER = ["name", "phone", "email", "company", "title", "notes", "tags"]
CALL_LOG_HEADER = ["phone", "direction", "started_at", "duration_seconds"]
# SMS Backup & Restore's call types (Android's CallLog.Calls.TYPE).
CALL_TYPES = {"1": "incoming", "2": "outgoing", "3": "missed", "4": "voicemail",
              "5": "rejected", "6": "blocked"}  # fmt: skip


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def is_vcard(filename: str) -> bool:
    return filename.lower().endswith(VCARD_SUFFIXES)


def is_call_log(filename: str) -> bool:
    return filename.lower().endswith(XML_SUFFIXES)


def has_own_fields(filename: str) -> bool:
    """vCards and call logs: their fields are known, no column mapping."""
    return is_vcard(filename) or is_call_log(filename)


def file_rows(file, filename: str) -> Iterator[tuple[int, list]]:
    """The rows of a stored file (a FieldFile or any file opened in binary)."""
    name = filename.lower()
    with file.open("rb") as raw:
        if name.endswith(XLSX_SUFFIXES):
            yield from _xlsx_rows(raw)
        elif name.endswith(VCARD_SUFFIXES):
            yield from _vcard_rows(raw)
        elif name.endswith(XML_SUFFIXES):
            yield from _call_log_rows(raw)
        else:
            yield from _csv_rows(raw)


def _csv_rows(raw) -> Iterator[tuple[int, list]]:
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    try:
        for number, cells in enumerate(csv.reader(text), 1):
            if any("\x00" in cell for cell in cells):
                raise ImportFileInvalid(
                    f"Row {number} holds a NUL character: the file is not a text CSV file."
                )
            yield number, cells
    except UnicodeDecodeError:
        raise ImportFileInvalid(
            "The file is not UTF-8 text. Save it as \u201cCSV UTF-8\u201d (Excel) or as XLSX."
        ) from None
    except csv.Error as exc:
        raise ImportFileInvalid(f"The file is not a readable CSV file: {exc}.") from None


# A workbook is a zip: refuse one that would expand far beyond any real spreadsheet of the
# largest file accepted (a "zip bomb" would take the process's memory).
XLSX_EXPANDED_MAX = 2 * 1024 * 1024 * 1024


def _xlsx_guard(raw) -> None:
    try:
        with zipfile.ZipFile(raw) as book:
            expanded = sum(info.file_size for info in book.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportFileInvalid("The file is not a readable XLSX workbook.") from None
    finally:
        raw.seek(0)
    if expanded > XLSX_EXPANDED_MAX:
        raise ImportFileInvalid("The workbook expands to more than 2 GB; save it as CSV.")


def _xlsx_rows(raw) -> Iterator[tuple[int, list]]:
    from openpyxl import load_workbook

    _xlsx_guard(raw)
    try:
        book = load_workbook(raw, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportFileInvalid(f"The file is not a readable XLSX workbook ({exc}).") from None
    try:
        sheet = book.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            yield number, list(cells)
    finally:
        book.close()


def _vcard_rows(raw) -> Iterator[tuple[int, list]]:
    """The header at once (the upload reads only that); the cards as they are parsed."""
    data = raw.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # old phones' exports
    if "BEGIN:VCARD" not in text[:4096].upper():
        raise ImportFileInvalid("The file holds no vCard (no BEGIN:VCARD line).")
    yield 0, list(VCARD_HEADER)
    try:
        cards = vcards_read(text)
        for number, card in enumerate(cards, 1):
            yield number, _card_cells(card)
    except VcardsInvalid as exc:
        raise ImportFileInvalid(str(exc)) from None


def _card_cells(card: dict) -> list:
    phone, others = phone_and_others(card["phones"])
    emails = card["emails"]
    notes = notes_with(card["notes"], numbers=others, emails=emails[1:])
    return [card["name"], phone, emails[0] if emails else "", card["company"],
            card["title"], notes, ", ".join(card["tags"])]  # fmt: skip


def _call_log_rows(raw) -> Iterator[tuple[int, list]]:
    """SMS Backup & Restore's calls-*.xml, read as a stream (a phone's whole history)."""
    yield 0, list(CALL_LOG_HEADER)
    number = 0
    try:
        for _, element in ElementTree.iterparse(raw, events=("end",)):
            if element.tag != "call":
                continue
            number += 1
            attributes = element.attrib
            yield (
                number,
                [
                    attributes.get("number", ""),
                    CALL_TYPES.get(attributes.get("type", ""), attributes.get("type", "")),
                    _millis(attributes.get("date", "")),
                    attributes.get("duration", ""),
                ],
            )
            element.clear()
    except ElementTree.ParseError as exc:
        raise ImportFileInvalid(f"The file is not a readable call-log XML file: {exc}.") from None
    except Exception as exc:  # defusedxml's refusals (entities, external references)
        if exc.__class__.__module__.startswith("defusedxml"):
            raise ImportFileInvalid(f"The XML file is refused: {exc.__class__.__name__}.") from None
        raise
    if number == 0:
        raise ImportFileInvalid(
            "The file holds no <call> element (an SMS Backup & Restore call log)."
        )


def _millis(value: str) -> str:
    """Milliseconds since 1970 (the backup's date) as an ISO time; anything else as it is."""
    try:
        return iso_utc(datetime.fromtimestamp(int(value) / 1000, tz=UTC))
    except (ValueError, OverflowError, OSError):
        return value


def header_of(file, filename: str) -> list:
    """The file's first row (the upload checks it before the job is queued)."""
    for _, cells in file_rows(file, filename):
        return cells
    return []


def rows_estimate(upload) -> int:
    """About how many data rows an uploaded file holds, without reading it as rows: a CSV's
    line breaks, an XLSX sheet's recorded size (for the admin's "is this a big file")."""
    position = upload.tell()
    try:
        upload.seek(0)
        name = (upload.name or "").lower()
        if name.endswith(XLSX_SUFFIXES):
            from openpyxl import load_workbook

            try:
                book = load_workbook(upload, read_only=True)
                rows = book.worksheets[0].max_row or 0
                book.close()
            except Exception:  # not a workbook: the import says so
                return 0
            return max(0, rows - 1)
        if name.endswith(VCARD_SUFFIXES):
            return sum(chunk.upper().count(b"BEGIN:VCARD") for chunk in upload.chunks())
        if name.endswith(XML_SUFFIXES):
            return sum(chunk.count(b"<call ") for chunk in upload.chunks())
        return max(0, sum(chunk.count(b"\n") for chunk in upload.chunks()) - 1)
    finally:
        upload.seek(position)


def upload_header(upload) -> list:
    """The first row of an uploaded file (before it is stored), the upload left open and
    rewound. vCards and call logs: our own header."""
    name = (upload.name or "").lower()
    if name.endswith(VCARD_SUFFIXES):
        return list(VCARD_HEADER)
    if name.endswith(XML_SUFFIXES):
        return list(CALL_LOG_HEADER)
    upload.seek(0)
    try:
        if name.endswith(XLSX_SUFFIXES):
            from openpyxl import load_workbook

            try:
                _xlsx_guard(upload)
                book = load_workbook(upload, read_only=True, data_only=True)
                first = next(book.worksheets[0].iter_rows(values_only=True), ())
                book.close()
            except Exception:
                return []
            return [cell_text(c).strip() for c in first]
        head = upload.read(64 * 1024).decode("utf-8-sig", errors="replace")
        first = next(csv.reader(io.StringIO(head)), [])
        return [c.strip() for c in first]
    finally:
        upload.seek(0)
