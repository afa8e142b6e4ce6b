"""Field-level merge: which of a contact's fields changed after a given version.

``Contact.field_versions`` maps a field's name to the version of the write that last changed
it. ``"*"`` is the floor: every field not named changed at or before it. A row whose map is
empty (new, replaced by an older record, or written before this existed) has the floor at its
own version, which is exact for a new or replaced row and safe for the others (a stale edit of
such a row conflicts as it always did). Each write that changes fields first pins the floor to
the version the row had, then stamps the fields it changed.

Field names: ``name``, ``phone``, ``email``, ``company``, ``title``, ``notes``, ``tags``,
``custom_fields.<key>`` (each custom field on its own), ``lists``, ``created_by``.
"""

from collections.abc import Iterable, Mapping

FLOOR = "*"


def field_version(field_versions: Mapping[str, int], row_version: int, name: str) -> int:
    """The version at which ``name`` last changed (or a later one: never an earlier one)."""
    return field_versions.get(name, field_versions.get(FLOOR, row_version))


def fields_changed_since(
    field_versions: Mapping[str, int], row_version: int, base_version: int, names: Iterable[str]
) -> list[str]:
    """Those of ``names`` that changed after ``base_version``, sorted."""
    return sorted(
        name for name in names if field_version(field_versions, row_version, name) > base_version
    )


def field_versions_stamped(
    field_versions: Mapping[str, int], row_version: int, names: Iterable[str], version: int
) -> dict[str, int]:
    """The map after a write at ``version`` that changed ``names`` of a row that was at
    ``row_version``."""
    stamped = dict(field_versions)
    stamped.setdefault(FLOOR, row_version)
    for name in names:
        stamped[name] = version
    return stamped
