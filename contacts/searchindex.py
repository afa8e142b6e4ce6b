"""Keeping the search index (ContactWord, SearchWord) in step with the contacts.

Every contact writer calls one of these in its own transaction, after its write: the words
come from the row's ``name_search`` and ``details_search`` (contacts.text.search_words), which
the writers already set, so the index cannot say something the row does not. Deleted contacts
have no words.
"""

from collections.abc import Iterable

from django.db import connection

from contacts.models import Contact, ContactWord, SearchWord
from contacts.text import search_words
from crm.db.store import copy_rows

_WORD = ContactWord._meta.db_table
_VOCABULARY = SearchWord._meta.db_table
_CONTACT = Contact._meta.db_table


def search_words_rows(rows: Iterable[tuple]) -> list[tuple]:
    """(contact id, name_search, details_search) -> ContactWord rows (contact, word, name)."""
    return [
        (contact_id, word, name_search)
        for contact_id, name_search, details_search in rows
        for word in search_words(name_search, details_search)
    ]


def _insert(word_rows: list[tuple]) -> None:
    if not word_rows:
        return
    copy_rows(_WORD, ["contact_id", "word", "name_search"], word_rows)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_VOCABULARY} (word) SELECT DISTINCT w FROM unnest(%s::text[]) AS u(w) "  # noqa: S608
            "ON CONFLICT DO NOTHING",
            [sorted({row[1] for row in word_rows})],
        )


def search_index_add(records: Iterable) -> None:
    """The words of contacts just created (records with ``id``, ``name_search``,
    ``details_search``, live): appended, no lookup (an import's COPY path)."""
    _insert(search_words_rows((r.id, r.name_search, r.details_search) for r in records))


def search_index_refresh(contact_ids: Iterable) -> None:
    """The words of these contacts as their rows are now: rewritten for live ones, removed for
    deleted ones (an edit, a replace, a delete, a restore, an undo)."""
    ids = list(dict.fromkeys(contact_ids))
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_WORD} WHERE contact_id = ANY(%s)", [ids])  # noqa: S608
        cursor.execute(
            f"SELECT id, name_search, details_search FROM {_CONTACT} "  # noqa: S608
            "WHERE id = ANY(%s) AND deleted_at IS NULL",
            [ids],
        )
        rows = cursor.fetchall()
    _insert(search_words_rows(rows))
