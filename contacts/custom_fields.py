"""Custom fields: the admin's definitions, and the values contacts hold for them.

Values live in one JSONB column, ``Contact.custom_fields``, keyed by the definition's key and
checked against the active definitions on every write path. Deactivating a definition moves
its values aside (``custom_fields_hidden``) with a new version for each contact that held one,
so phones following the feed stop showing them; activating it again brings them back.
"""

import math
import re
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from contacts.errors import ContactInvalid
from contacts.models import Contact, ContactField, FieldType
from crm.text import text_is_storable
from ledger.activity import activity_record
from ledger.versioning import CONTACTS, version_next

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
TEXT_MAX_LENGTH = 1000
LABEL_MAX_LENGTH = 100
CHOICES_MAX = 200
NUMBER_MAX = 1e15  # beyond this a JSON number stops being exact in the phone's doubles
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

Definitions = dict[str, ContactField]


def custom_fields_active() -> Definitions:
    """The active definitions by key (one query)."""
    return {field.key: field for field in ContactField.objects.filter(active=True)}


def _value_clean(field: ContactField, value):
    if field.type == FieldType.TEXT:
        if not isinstance(value, str):
            raise ValueError("Must be a string.")
        value = value.strip()
        if _CONTROL.search(value) or not text_is_storable(value):
            raise ValueError("Contains control characters.")
        if len(value) > TEXT_MAX_LENGTH:
            raise ValueError(f"At most {TEXT_MAX_LENGTH} characters.")
        return value
    if field.type == FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("Must be a number.")
        if not math.isfinite(value) or abs(value) > NUMBER_MAX:
            raise ValueError(f"Must be a finite number of at most {NUMBER_MAX:.0e} in size.")
        return value
    if field.type == FieldType.DATE:
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError("Must be a date as YYYY-MM-DD.") from None
    if field.type == FieldType.BOOL:
        if not isinstance(value, bool):
            raise ValueError("Must be true or false.")
        return value
    # A choice: one of the definition's, matched without regard to case, spelt as defined.
    if isinstance(value, str):
        for choice in field.choices:
            if choice.casefold() == value.strip().casefold():
                return choice
    raise ValueError(f"Must be one of: {', '.join(field.choices)}.")


def custom_values_clean(values, definitions: Definitions) -> tuple[dict, dict[str, list[str]]]:
    """The values an input names, checked against the active definitions: ``(clean, errors)``.
    ``clean`` maps each key to its value, or to None where the input clears it. Errors are
    field errors under ``custom_fields.<key>`` (or ``custom_fields`` for a non-object)."""
    if not isinstance(values, dict):
        return {}, {"custom_fields": ["Must be an object of field key -> value."]}
    clean, errors = {}, {}
    for key, value in values.items():
        if key not in definitions:
            errors[f"custom_fields.{key}"[:120]] = ["No such custom field (or it is inactive)."]
        elif value is None:
            clean[key] = None
        else:
            try:
                clean[key] = _value_clean(definitions[key], value)
            except ValueError as exc:
                errors[f"custom_fields.{key}"] = [str(exc)]
    return clean, errors


def custom_values_merged(current: dict, edits: dict) -> dict:
    """``current`` with the edits applied (None removes a value)."""
    merged = {**current, **edits}
    return {key: value for key, value in merged.items() if value is not None}


# --- definitions ---------------------------------------------------------------------------


def custom_field_problems(*, label, type, choices) -> dict[str, list[str]]:
    errors = {}
    if label is not None and (
        not isinstance(label, str) or not label.strip() or len(label) > LABEL_MAX_LENGTH
    ):
        errors["label"] = [f"A label of 1-{LABEL_MAX_LENGTH} characters is required."]
    if type == FieldType.CHOICE:
        if not choices:
            errors["choices"] = ["A choice field needs its choices."]
        elif len(choices) > CHOICES_MAX or len({c.casefold() for c in choices}) != len(choices):
            errors["choices"] = [f"At most {CHOICES_MAX} choices, unique without regard to case."]
    elif choices:
        errors["choices"] = ["Only a choice field has choices."]
    return errors


@transaction.atomic
def custom_field_create(*, actor, key: str, label: str, type: str, choices=(), active=True):
    errors = custom_field_problems(label=label, type=type, choices=list(choices))
    if not KEY_PATTERN.match(key or ""):
        errors["key"] = ["A slug: a lower-case letter, then letters, digits or _ (≤ 50)."]
    elif ContactField.objects.filter(key=key).exists():
        errors["key"] = ["A custom field with this key exists (deleted ones are kept)."]
    if errors:
        raise ContactInvalid(errors)
    field = ContactField.objects.create(
        key=key, label=label.strip(), type=type, choices=list(choices), active=active
    )
    activity_record(
        actor=actor, action="contacts.field.created", obj=field, changes={"type": [None, type]}
    )
    return field


@transaction.atomic
def custom_field_update(*, actor, field: ContactField, label=None, choices=None, active=None):
    """Label, choices and the active flag change; the key and the type never do (stored
    values would stop meaning what they meant)."""
    field = ContactField.objects.select_for_update().get(pk=field.pk)
    errors = custom_field_problems(
        label=label, type=field.type, choices=field.choices if choices is None else choices
    )
    if errors:
        raise ContactInvalid(errors)
    changes = {}
    for name, value in (("label", label), ("choices", choices), ("active", active)):
        if value is not None:
            value = value.strip() if name == "label" else value
            if getattr(field, name) != value:
                changes[name] = [getattr(field, name), value]
                setattr(field, name, value)
    if not changes:
        return field
    field.updated_at = timezone.now()
    field.save()
    if "active" in changes:
        _values_move(key=field.key, show=field.active)
    activity_record(actor=actor, action="contacts.field.updated", obj=field, changes=changes)
    return field


def custom_field_deactivate(*, actor, field: ContactField) -> ContactField:
    return custom_field_update(actor=actor, field=field, active=False)


_MOVE = """
UPDATE {table} SET
  {to} = {to} || jsonb_build_object(%(key)s, {source} -> %(key)s),
  {source} = {source} - %(key)s,
  version = %(version)s,
  updated_at = %(now)s,
  field_versions = jsonb_build_object('*', version) || field_versions
                   || jsonb_build_object(%(name)s, %(version)s)
WHERE {source} ? %(key)s
"""


def _values_move(*, key: str, show: bool) -> int:
    """Hide (or show again) every value of ``key``: one UPDATE, one new version."""
    source, to = (
        ("custom_fields_hidden", "custom_fields")
        if show
        else ("custom_fields", "custom_fields_hidden")
    )
    sql = _MOVE.format(table=Contact._meta.db_table, source=source, to=to)
    version = version_next(CONTACTS)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {"key": key, "version": version, "now": timezone.now(), "name": f"custom_fields.{key}"},
        )
        return cursor.rowcount


# --- spreadsheet cells -----------------------------------------------------------------------

_TRUE, _FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}


def custom_value_from_cell(field: ContactField, cell):
    """A spreadsheet cell as the JSON value its field takes (an import's ``custom_fields.<key>``
    column): numbers and dates may come as text, booleans as yes/no. What cannot be read is
    passed on as it is, for custom_values_clean to refuse with its usual message."""
    if isinstance(cell, str):
        cell = cell.strip()
    if field.type == FieldType.NUMBER and isinstance(cell, str):
        try:
            number = float(cell.replace(",", ""))
        except ValueError:
            return cell
        return int(number) if number.is_integer() and "." not in cell else number
    if field.type == FieldType.BOOL and isinstance(cell, str | int) and not isinstance(cell, bool):
        word = str(cell).lower()
        return True if word in _TRUE else False if word in _FALSE else cell
    if field.type == FieldType.DATE and isinstance(cell, date):
        return cell.isoformat()[:10]
    if field.type in (FieldType.TEXT, FieldType.CHOICE) and isinstance(cell, int | float):
        return str(int(cell)) if float(cell).is_integer() else str(cell)
    return cell
