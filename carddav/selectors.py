"""What the address book reads: cards by name, the members of the book, a sync-collection page.

A card's name is the one its client chose (carddav.models.CardName) or ``<contact id>.vcf``.
Every read is one query, whatever the book's size; a card is built from the row by
contacts.vcards.contact_vcard (plain text, no vobject on the read path).
"""

import uuid
from dataclasses import dataclass

from django.db import connection
from django.db.models import OuterRef, Q, Subquery

from carddav.models import CardName
from contacts.models import Contact
from crm.db import server_prepared
from ledger.models import ChangeFeed
from ledger.versioning import CONTACTS
from syncaudit.cursors import Cursor
from syncaudit.selectors import feed_rows

SUFFIX = ".vcf"
# The columns a card is made of, and its name and client UID (NULL: the server's own).
_CARD_COLUMNS = (
    "c.id, c.name, c.phone_normalized, c.email, c.company, c.title, c.notes, c.tags, "
    "c.updated_at, c.version, c.created_by_id, n.name, n.uid"
)
_CARD_KEYS = (
    "id", "name", "phone_normalized", "email", "company", "title", "notes", "tags",
    "updated_at", "version", "created_by_id", "card_name", "uid",
)  # fmt: skip


def _tables() -> tuple[str, str]:
    quote = connection.ops.quote_name
    return quote(Contact._meta.db_table), quote(CardName._meta.db_table)


def server_name(contact_id) -> str:
    return f"{contact_id}{SUFFIX}"


def card_name_of(row: dict) -> str:
    return row["card_name"] or server_name(row["id"])


def _id_of(name: str) -> uuid.UUID | None:
    if not name.endswith(SUFFIX):
        return None
    try:
        return uuid.UUID(name[: -len(SUFFIX)])
    except ValueError:
        return None


def cards_by_name(names: list[str]) -> dict[str, dict]:
    """The live cards of these names (name -> row). One query: the names a client chose are
    found through CardName's primary key, the server's own names by the contacts' primary key.
    A contact is also found at its server name when a client named it otherwise."""
    ids = [i for i in (_id_of(n) for n in names) if i is not None]
    contacts, names_table = _tables()
    sql = (
        f"SELECT {_CARD_COLUMNS} FROM {contacts} c "  # noqa: S608 - names from the models
        f"LEFT JOIN {names_table} n ON n.contact_id = c.id AND NOT n.retired "
        "WHERE c.id = ANY(%s) AND c.deleted_at IS NULL "
        f"UNION ALL SELECT {_CARD_COLUMNS} FROM {names_table} n "
        f"JOIN {contacts} c ON c.id = n.contact_id "
        "WHERE n.name = ANY(%s) AND NOT n.retired AND c.deleted_at IS NULL"
    )
    # Prepared once per connection (crm.db.server_prepared): planning the union cost more than
    # running it.
    with server_prepared.cursor() as cursor:
        cursor.execute(sql, [ids, list(names)])
        rows = [dict(zip(_CARD_KEYS, values, strict=True)) for values in cursor.fetchall()]
    wanted = set(names)
    found = {}
    for row in rows:
        for name in (row["card_name"], server_name(row["id"])):
            if name in wanted:
                found[name] = row
    return found


def card_by_name(name: str) -> dict | None:
    return cards_by_name([name]).get(name)


def name_is_retired(name: str) -> bool:
    return CardName.objects.filter(name=name, retired=True).exists()


def book_members() -> list[tuple[str, int]]:
    """(name, version) of every live card: a PROPFIND Depth 1 of the book (what DAVx5 lists
    when a server has no sync-collection, and vdirsyncer always). Never truncated: a client
    takes a listing as complete and deletes what it does not name."""
    contacts, names_table = _tables()
    sql = (
        f"SELECT c.id, c.version, n.name FROM {contacts} c "  # noqa: S608 - names from the models
        f"LEFT JOIN {names_table} n ON n.contact_id = c.id AND NOT n.retired "
        "WHERE c.deleted_at IS NULL ORDER BY c.version, c.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [(name or server_name(pk), version) for pk, version, name in cursor.fetchall()]


@dataclass
class SyncPage:
    members: list[tuple[str, int | None]]  # (name, version); None: deleted (a 404)
    cursor: Cursor
    has_more: bool


def _page_rows(queryset):
    live_name = CardName.objects.filter(contact=OuterRef("pk"), retired=False).values("name")[:1]
    return queryset.values("id", "version", "deleted_at", card_name=Subquery(live_name))


def sync_page(cursor: Cursor, state: ChangeFeed, *, limit: int) -> SyncPage:
    """One page of sync-collection after ``cursor``: the contact feed's rows (one query, the
    feed's own paging: syncaudit.selectors.feed_rows) and the names retired in the same range
    of versions (one more query, only when the page ends the feed or they fall inside it).

    The last page's cursor is the feed's head as read before the page: retired names take
    versions no contact row carries, and the next token must be past them too."""
    rows, position, has_more = feed_rows(CONTACTS, cursor, limit=limit, rows_of=_page_rows)
    members = [
        (row["card_name"] or server_name(row["id"]), None if row["deleted_at"] else row["version"])
        for row in rows
    ]
    if not has_more:
        position = Cursor(CONTACTS, cursor.epoch, max(position.version, state.version))
    # A full sync (high-water set) does not need names retired before it began.
    since = max(cursor.version, cursor.high_water)
    retired = CardName.objects.filter(
        Q(retired=True, version__gt=since, version__lte=position.version)
    ).values_list("name", flat=True)
    if position.version > since:
        members.extend((name, None) for name in retired)
    return SyncPage(members=members, cursor=position, has_more=has_more)
