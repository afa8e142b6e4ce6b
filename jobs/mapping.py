"""Column mapping: which column of someone's file is which field of ours.

A file whose header is not ours (the templates', or an export's) gets a proposal: a known
exporter's layout (Google Contacts, Outlook) is recognised from its header, and any other
column is guessed from common header names in several languages; what matches nothing is
"ignore". The user confirms or edits it (``POST /imports/{id}/mapping``), and may save it by
name for the next file.

Several columns may map to one field: ``name`` parts are joined (first, middle, last, in file
order); of several ``phone`` columns the first valid number becomes the contact's phone and the
others go to its notes (one number per contact stays the rule), and so do extra emails;
``notes`` are joined by lines and ``tags`` merged. ``mapped_rows`` turns each row into the
columns of our own header, so the import itself is the same as for our own files.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

from contacts.custom_fields import custom_fields_active
from contacts.resources import notes_with, phone_and_others
from jobs.models import ImportKind

IGNORE = "ignore"
CONTACT_TARGETS = ("name", "phone", "email", "company", "title", "notes", "tags", "created_at",
                   "owner_email")  # fmt: skip
TARGETS = {
    ImportKind.CONTACTS: CONTACT_TARGETS,
    ImportKind.DNC: ("phone", "reason", "source", "notes", "expires_at"),
    ImportKind.CALLS: (
        "phone",
        "direction",
        "started_at",
        "duration_seconds",
        "device_id",
        "client_call_id",
    ),
}
REQUIRED = {
    ImportKind.CONTACTS: ("name", "phone"),
    ImportKind.DNC: ("phone",),
    ImportKind.CALLS: ("phone", "direction", "started_at"),
}
# The column of our own header each target fills (owner_email is created_by_email there).
COLUMN = {"owner_email": "created_by_email"}


def cell_key(header) -> str:
    """A header cell as a mapping names it (the job's ``columns``): text, trimmed."""
    if header is None:
        return ""
    if isinstance(header, float) and header.is_integer():
        header = int(header)
    return str(header).strip()


def folded(header) -> str:
    """A header for comparing: no accents, lower case, letters and digits only."""
    text = unicodedata.normalize("NFKD", str(header or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


# --- known exporters ----------------------------------------------------------------------

# Google Contacts' CSV (contacts.google.com > Export > Google CSV), both its current layout
# (First Name, ..., Labels) and the older one (Name, Given Name, ..., Group Membership).
_GOOGLE = {
    "name": "name", "first name": "name", "middle name": "name", "last name": "name",
    "organization name": "company", "organization title": "title",
    "organization 1 name": "company", "organization 1 title": "title",
    "labels": "tags", "group membership": "tags", "notes": "notes",
}  # fmt: skip
_GOOGLE_PATTERNS = ((re.compile(r"phone \d+ value"), "phone"),
                    (re.compile(r"e mail \d+ value"), "email"))  # fmt: skip
# Outlook's CSV (File > Open & Export > Export to a file > Comma Separated Values). Its
# "Title" is Mr./Ms., its job title is "Job Title".
_OUTLOOK = {
    "first name": "name", "middle name": "name", "last name": "name", "company": "company",
    "job title": "title", "mobile phone": "phone", "business phone": "phone",
    "business phone 2": "phone", "home phone": "phone", "home phone 2": "phone",
    "primary phone": "phone", "other phone": "phone", "company main phone": "phone",
    "car phone": "phone", "e mail address": "email", "e mail 2 address": "email",
    "e mail 3 address": "email", "categories": "tags", "notes": "notes",
}  # fmt: skip


def preset_of(headers: Sequence[str]) -> str | None:
    """ "google" or "outlook" when the header is that exporter's, else None."""
    names = {folded(h) for h in headers}
    if any(p.fullmatch(n) for n in names for p, _ in _GOOGLE_PATTERNS) and (
        names & {"first name", "name", "given name", "labels", "group membership"}
    ):
        return "google"
    if {"first name", "last name"} <= names and names & {"e mail address", "mobile phone",
                                                         "business phone"}:  # fmt: skip
        return "outlook"
    return None


# --- guessing -----------------------------------------------------------------------------

# Common header names, folded, in English, Spanish, French, German, Portuguese and Italian.
_GUESSES = {
    "name": ("name", "full name", "display name", "contact", "contact name", "nombre",
             "nombre completo", "nom", "nom complet", "name vollstandig", "vollstandiger name",
             "nome", "nome completo", "first name", "given name", "last name", "family name",
             "surname", "middle name", "apellido", "apellidos", "prenom", "vorname",
             "nachname", "sobrenome", "cognome"),
    "phone": ("phone", "phone number", "telephone", "tel", "mobile", "mobile phone", "cell",
              "cell phone", "number", "telefono", "movil", "celular", "telephone portable",
              "portable", "numero", "telefon", "handy", "mobil", "telefone", "cellulare",
              "work phone", "home phone", "business phone", "whatsapp", "msisdn", "e164"),
    "email": ("email", "e mail", "email address", "e mail address", "mail", "correo",
              "correo electronico", "courriel", "adresse e mail", "e mail adresse"),
    "company": ("company", "organization", "organisation", "organization name", "business",
                "account", "account name", "empresa", "compania", "societe", "entreprise",
                "firma", "unternehmen", "azienda", "employer"),
    "title": ("title", "job title", "position", "role", "cargo", "puesto", "poste", "fonction",
              "titre", "position", "berufsbezeichnung", "funcao", "ruolo", "designation"),
    "notes": ("notes", "note", "comments", "comment", "description", "remarks", "notas",
              "nota", "comentarios", "commentaire", "commentaires", "notizen", "notiz",
              "bemerkung", "observacoes", "note interne"),
    "tags": ("tags", "tag", "labels", "label", "categories", "category", "groups", "group",
             "group membership", "etiquetas", "etiqueta", "categorias", "etiquettes",
             "schlagworter", "kategorien", "etichette"),
    "created_at": ("created at", "created", "date created", "creation date", "added",
                   "date added", "fecha de creacion", "date de creation", "erstellt am",
                   "data de criacao"),
    "owner_email": ("owner", "owner email", "created by", "created by email",
                    "created by email", "assigned to", "agent", "sales rep", "salesperson",
                    "propietario", "proprietaire", "besitzer", "responsavel"),
    "reason": ("reason", "motivo", "raison", "grund"),
    "source": ("source", "origin", "fuente", "origen", "quelle"),
    "expires_at": ("expires at", "expires", "expiry", "expiration", "expiration date",
                   "valid until", "vence", "expire"),
    "direction": ("direction", "type", "call type", "tipo", "sens", "richtung"),
    "started_at": ("started at", "start", "date", "time", "date time", "call date",
                   "start time", "fecha", "heure", "datum", "data"),
    "duration_seconds": ("duration", "duration seconds", "seconds", "length", "duracion",
                         "duree", "dauer", "durata"),
    "device_id": ("device", "device id", "phone id", "handset"),
    "client_call_id": ("client call id", "call id", "id"),
}  # fmt: skip
_GUESS_PATTERNS = (
    (re.compile(r"(phone|tel|telephone|mobile) ?\d* ?(value)?"), "phone"),
    (re.compile(r"e ?mail ?\d* ?(value|address)?"), "email"),
)


def _guess(name: str, kind: str, custom_keys: set[str]) -> str:
    targets = TARGETS[kind]
    if kind == ImportKind.CONTACTS and name.replace(" ", "_") in custom_keys:
        return f"custom_fields.{name.replace(' ', '_')}"
    if kind == ImportKind.CONTACTS and name.startswith("custom fields "):
        key = name[len("custom fields ") :].replace(" ", "_")
        if key in custom_keys:
            return f"custom_fields.{key}"
    for target in targets:
        if name == target.replace("_", " ") or name in _GUESSES.get(target, ()):
            return target
    for pattern, target in _GUESS_PATTERNS:
        if target in targets and pattern.fullmatch(name):
            return target
    return IGNORE


def mapping_propose(headers: Sequence[str], kind: str) -> dict[str, str]:
    """header -> target for every column of the file (IGNORE where nothing fits)."""
    names = [folded(h) for h in headers]
    preset = preset_of(headers) if kind == ImportKind.CONTACTS else None
    custom_keys = set(custom_fields_active()) if kind == ImportKind.CONTACTS else set()
    proposal = {}
    for header, name in zip(headers, names, strict=True):
        if preset == "google":
            target = _GOOGLE.get(name) or next(
                (t for p, t in _GOOGLE_PATTERNS if p.fullmatch(name)), IGNORE
            )
        elif preset == "outlook":
            target = _OUTLOOK.get(name, IGNORE)
        else:
            target = _guess(name, kind, custom_keys)
        proposal[str(header)] = target
    full_names = {"name", "full name", "display name", "nombre completo", "nom complet",
                  "nome completo", "contact name"}  # fmt: skip
    if any(n in full_names for n in names):  # a whole name: its parts are not needed
        for header, name in zip(headers, names, strict=True):
            if proposal[str(header)] == "name" and name not in full_names:
                proposal[str(header)] = IGNORE
    return proposal


def mapping_problems(mapping, headers: Sequence[str], kind: str) -> list[str]:
    """What is wrong with a mapping for this file (empty: it will do)."""
    if not isinstance(mapping, dict) or not mapping:
        return ['An object of header -> field, e.g. {"Full Name": "name", "Mobile": "phone"}.']
    problems = []
    columns = {str(h) for h in headers}
    custom_keys = set(custom_fields_active()) if kind == ImportKind.CONTACTS else set()
    for header, target in mapping.items():
        if header not in columns:
            problems.append(f"The file has no column {header!r}.")
        if not isinstance(target, str):
            problems.append(f"{header!r}: the field must be a string.")
        elif target.startswith("custom_fields.") and kind == ImportKind.CONTACTS:
            if target[len("custom_fields.") :] not in custom_keys:
                problems.append(f"{header!r}: no active custom field {target[14:]!r}.")
        elif target != IGNORE and target not in TARGETS[kind]:
            problems.append(
                f"{header!r}: {target!r} is not one of {', '.join([*TARGETS[kind], IGNORE])}."
            )
    mapped = {t for t in mapping.values() if isinstance(t, str)}
    for target in REQUIRED[kind]:
        if target not in mapped:
            problems.append(f"No column is mapped to {target} (it is required).")
    return problems


def mapping_ignored(mapping: dict, headers: Sequence[str]) -> list[str]:
    """The columns the import leaves out."""
    return [str(h) for h in headers if mapping.get(str(h), IGNORE) == IGNORE]


def _column(target: str) -> str:
    return COLUMN.get(target, target)


def mapped_header(mapping: dict, kind: str) -> list[str]:
    """Our own header for a mapped file: each target once, in the kind's order (a stored
    mapping's keys come back in any order)."""
    used = {t for t in mapping.values() if t != IGNORE}
    order = [*TARGETS[kind], *sorted(t for t in used if t not in TARGETS[kind])]
    targets = [_column(target) for target in order if target in used]
    if "phone" in targets and "notes" not in targets:
        targets.append("notes")  # where the other numbers go
    if "email" in targets and "notes" not in targets:
        targets.append("notes")
    return targets


def mapped_rows(
    rows: Iterable[tuple[int, list]], headers: Sequence[str], mapping: dict, kind: str
) -> Iterator[tuple[int, list]]:
    """The rows of a file in its own columns -> the same rows in the mapped_header columns."""
    header = mapped_header(mapping, kind)
    sources: dict[str, list[int]] = {}
    for index, column in enumerate(headers):
        target = mapping.get(cell_key(column), IGNORE)
        if target != IGNORE:
            sources.setdefault(_column(target), []).append(index)
    at = {column: index for index, column in enumerate(header)}
    several_phones = kind == ImportKind.CONTACTS and len(sources.get("phone", [])) > 1
    several_emails = kind == ImportKind.CONTACTS and len(sources.get("email", [])) > 1

    def values(cells, column):
        return [cells[i] for i in sources.get(column, ()) if i < len(cells)]

    def text(value) -> str:
        return "" if value is None else str(value).strip()

    for number, cells in rows:
        out = [""] * len(header)
        for column, index in at.items():
            found = values(cells, column)
            if column == "name":
                out[index] = " ".join(text(v) for v in found if text(v))
            elif column == "notes":
                out[index] = "\n".join(text(v) for v in found if text(v))
            elif column == "tags":
                out[index] = ", ".join(_tags(v) for v in found if text(v))
            else:
                present = [v for v in found if text(v)]
                out[index] = present[0] if present else (found[0] if found else "")
        other_numbers, other_emails = [], []
        if several_phones:
            out[at["phone"]], other_numbers = phone_and_others(
                [text(v) for v in values(cells, "phone")]
            )
        if several_emails:
            emails = [text(v) for v in values(cells, "email") if text(v)]
            out[at["email"]], other_emails = (emails[0], emails[1:]) if emails else ("", [])
        if other_numbers or other_emails:
            out[at["notes"]] = notes_with(out[at["notes"]], numbers=other_numbers,
                                          emails=other_emails)  # fmt: skip
        yield number, out


def _tags(value) -> str:
    """A tags cell of any exporter: Google's "Friends ::: * myContacts", Outlook's "A;B"."""
    parts = re.split(r":::|[,;]", str(value))
    return ", ".join(p.strip() for p in parts if p.strip() and not p.strip().startswith("* "))
