"""A contact as a vCard, and vCards as contacts: the one mapping, for vCard files (import jobs,
the ``format=vcf`` export) and for CardDAV.

Reading takes what Android and iOS exports hold: vCard 2.1 (quoted-printable, charsets), 3.0
and 4.0 (``tel:`` URIs), one card or many per file. A card becomes the row an import reads:

- ``name``: FN, else the N parts (given, additional, family);
- ``phone``: the first TEL marked preferred, else the first TEL; the card's other numbers are
  kept in ``notes`` (a contact has one number: see ``contacts.resources.phone_and_others``);
- ``email``: the first EMAIL (the others go to ``notes`` too); ``company``: ORG's first part;
  ``title``: TITLE; ``notes``: NOTE; ``tags``: CATEGORIES.

Writing gives vCard 3.0 (what every client reads) or, when asked (CardDAV), 4.0: FN, N, TEL
(E.164), EMAIL, ORG, TITLE, NOTE, CATEGORIES, and UID (the contact's id, or the UID a CardDAV
client gave the card) and REV. It works on plain rows, without vobject: CardDAV serves every
card of the book through it.
"""

from collections.abc import Iterable, Iterator

import vobject

from crm.timestamps import iso_utc

CARD_FIELDS = ("name", "phone", "email", "company", "title", "notes", "tags")


class VcardsInvalid(ValueError):
    """The text is no vCard file."""


def _values(card, name: str) -> list:
    return [line for line in card.contents.get(name, []) if line.value not in (None, "", [])]


def _preferred_first(lines: list) -> list:
    def preferred(line) -> bool:
        types = [t.lower() for value in line.params.get("TYPE", []) for t in value.split(",")]
        singletons = [str(s).lower() for s in getattr(line, "singletonparams", [])]
        return "pref" in types or "pref" in singletons or "PREF" in line.params

    return sorted(lines, key=lambda line: not preferred(line))  # stable: file order otherwise


def _text(value) -> str:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value if v)
    return str(value).strip()


def _phone(value) -> str:
    text = _text(value)
    return text[4:] if text.lower().startswith("tel:") else text


def _name(card) -> str:
    for line in _values(card, "fn"):
        if _text(line.value):
            return _text(line.value)
    for line in _values(card, "n"):
        n = line.value
        parts = [getattr(n, part, "") for part in ("prefix", "given", "additional", "family")]
        text = " ".join(_text(p) for p in parts if _text(p))
        if text:
            return text
    return ""


def card_record(card) -> dict:
    """One vCard (vobject component) as the columns of an import: name, phones (all, the
    preferred first), emails, company, title, notes, tags."""
    phones = [_phone(line.value) for line in _preferred_first(_values(card, "tel"))]
    emails = [_text(line.value) for line in _preferred_first(_values(card, "email"))]
    org = _values(card, "org")
    company = ""
    if org:
        value = org[0].value
        company = _text(value[0] if isinstance(value, list) and value else value)
    tags = []
    for line in _values(card, "categories"):
        value = line.value
        tags.extend(_text(v) for v in (value if isinstance(value, list) else [value]) if _text(v))
    notes = "\n".join(_text(line.value) for line in _values(card, "note"))
    title = _values(card, "title")
    return {
        "name": _name(card),
        "phones": [p for p in phones if p],
        "emails": [e for e in emails if e],
        "company": company,
        "title": _text(title[0].value) if title else "",
        "notes": notes,
        "tags": tags,
    }


def vcard_read_one(text: str) -> dict:
    """The one card of a CardDAV upload as card_record() gives it, plus its ``uid`` ("" when it
    has none). PHOTO, LOGO, X- properties and the rest are read past and not kept."""
    if "BEGIN:VCARD" not in text[:4096].upper():
        raise VcardsInvalid("The body holds no vCard (no BEGIN:VCARD line).")
    try:
        cards = [c for c in vobject.readComponents(text) if c.name.upper() == "VCARD"]
    except Exception as exc:  # vobject raises ParseError, ValueError, LookupError (a charset)...
        raise VcardsInvalid(f"The vCard cannot be read: {exc}.") from None
    if len(cards) != 1:
        raise VcardsInvalid("A card holds exactly one vCard.")
    card = cards[0]
    try:
        record = card_record(card)
    except Exception as exc:  # a property whose value vobject could not make sense of
        raise VcardsInvalid(f"The vCard cannot be read: {exc}.") from None
    uid = _values(card, "uid")
    record["uid"] = _text(uid[0].value)[:255] if uid else ""
    return record


def vcards_read(text: str) -> Iterator[dict]:
    """Each card of a vCard file as card_record() gives it, in file order."""
    if "BEGIN:VCARD" not in text[:4096].upper():
        raise VcardsInvalid("The file holds no vCard (no BEGIN:VCARD line).")
    try:
        for card in vobject.readComponents(text, ignoreUnreadable=True):
            if card.name.upper() == "VCARD":
                yield card_record(card)
    except Exception as exc:  # vobject raises ParseError, ValueError, LookupError (a charset)...
        raise VcardsInvalid(f"The vCard file cannot be read: {exc}.") from None


# --- writing --------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")


def _fold(line: str) -> str:
    """RFC 6350 line folding at 75 octets (never inside a UTF-8 sequence)."""
    if len(line) <= 75 and line.isascii():  # most lines: nothing to fold, nothing to measure
        return line
    out, current, size = [], [], 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            out.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    out.append("".join(current))
    return "\r\n".join(out)


def contact_vcard(row: dict, *, version: str = "3.0", uid: str | None = None) -> str:
    """A contact (an export row: id, name, phone_normalized, email, company, title, notes,
    tags, updated_at) as a vCard 3.0, or 4.0. ``uid`` replaces the contact's id as UID (the
    UID a CardDAV client gave the card: clients such as vdirsyncer match cards by it)."""
    name = row["name"]
    given, _, family = name.rpartition(" ")
    if not given:
        given, family = family, ""
    four = version == "4.0"
    lines = [
        "BEGIN:VCARD",
        f"VERSION:{'4.0' if four else '3.0'}",
        f"UID:{_escape(uid) if uid else row['id']}",
        f"FN:{_escape(name)}",
        f"N:{_escape(family)};{_escape(given)};;;",
        f"TEL;VALUE=uri;TYPE=cell:tel:{row['phone_normalized']}"
        if four
        else f"TEL;TYPE=CELL:{row['phone_normalized']}",
    ]
    if row.get("email"):
        lines.append(f"EMAIL{'' if four else ';TYPE=INTERNET'}:{_escape(row['email'])}")
    if row.get("company"):
        lines.append(f"ORG:{_escape(row['company'])}")
    if row.get("title"):
        lines.append(f"TITLE:{_escape(row['title'])}")
    if row.get("notes"):
        lines.append(f"NOTE:{_escape(row['notes'])}")
    if row.get("tags"):
        lines.append("CATEGORIES:" + ",".join(_escape(tag) for tag in row["tags"]))
    if row.get("updated_at"):
        rev = iso_utc(row["updated_at"])
        if four:  # 4.0's timestamp is the basic format: 20260102T030405Z
            rev = rev[:19].replace("-", "").replace(":", "") + "Z"
        lines.append(f"REV:{rev}")
    lines.append("END:VCARD")
    return "".join(_fold(line) + "\r\n" for line in lines)


def contacts_vcards(rows: Iterable[dict]) -> Iterator[str]:
    for row in rows:
        yield contact_vcard(row)
