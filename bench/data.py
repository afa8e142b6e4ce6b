"""Generated data and fast loading.

Phone numbers are valid E.164 US numbers (+1 AAA EEE LLLL over 20 real area codes), spread by
a fixed permutation so that consecutive rows do not get consecutive numbers. Index ranges keep
the populations apart: number ``i`` below ``UNKNOWN_BASE`` belongs to contact ``i``; calls from
strangers, CSV imports and admin imports draw from their own ranges, so nothing collides.
Names are first + last names from Faker's en_US, es_ES, de_DE and fr_FR lists (accents
included), stored with ``name_search`` computed by the app's own ``contacts.text.search_key``,
and their search words (``contacts_contactword``, the search index) by its own
``contacts.text.search_words``, the vocabulary (``contacts_searchword``) from those.

Rows go in with COPY. For big loads the table's secondary indexes are dropped first and
recreated afterwards from their exact definitions (``pg_get_indexdef``), and foreign-key
triggers are off for the loading transaction (the generated rows are consistent by
construction): the schema afterwards is exactly the migrated one.
"""

import functools
import math
import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from contacts.text import search_key, search_words

AREA_CODES = (202, 206, 212, 213, 303, 305, 312, 404, 415, 503)
AREA_CODES += (512, 617, 646, 702, 713, 718, 773, 801, 818, 917)
EXCHANGES = tuple(e for e in range(201, 1000) if e % 100 != 11 and e != 555)
SLOTS = len(AREA_CODES) * len(EXCHANGES) * 10_000
_MULTIPLIER = 2_654_435_761
assert math.gcd(_MULTIPLIER, SLOTS) == 1

UNKNOWN_BASE = 50_000_000  # numbers of callers who are nobody's contact
UNKNOWN_NUMBERS = 500_000
IMPORT_BASE = 60_000_000  # numbers of the CSV import file
ADMIN_IMPORT_BASE = 70_000_000  # numbers of the admin import file
DNC_IMPORT_BASE = 80_000_000  # numbers of the DNC registry file (scenario 9: up to 10M)

DIRECTIONS = ("incoming", "outgoing", "missed", "rejected", "blocked", "voicemail")
DIRECTION_WEIGHTS = (40, 40, 15, 3, 1, 1)
_DIRECTION_POOL = tuple(
    d for d, w in zip(DIRECTIONS, DIRECTION_WEIGHTS, strict=True) for _ in range(w)
)

CONTACT_COLUMNS = (
    "id",
    "name",
    "name_search",
    "phone",
    "phone_normalized",
    "created_by_id",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
)
WORD_COLUMNS = ("contact_id", "word", "name_search")
CALL_COLUMNS = (
    "id",
    "user_id",
    "contact_id",
    "phone",
    "phone_normalized",
    "direction",
    "started_at",
    "duration_seconds",
    "device_id",
    "client_call_id",
    "created_at",
    "version",
)

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def phone_e164(index: int) -> str:
    slot = (index * _MULTIPLIER + 7_919) % SLOTS
    prefix, line = divmod(slot, 10_000)
    area, exchange = divmod(prefix, len(EXCHANGES))
    return f"+1{AREA_CODES[area]}{EXCHANGES[exchange]}{line:04d}"


def phone_as_entered(e164: str, variant: int) -> str:
    """What a person types: E.164, international with dashes, or national with brackets."""
    national = e164[2:]
    variant %= 3
    if variant == 0:
        return e164
    if variant == 1:
        return f"+1 {national[:3]}-{national[3:6]}-{national[6:]}"
    return f"({national[:3]}) {national[3:6]}-{national[6:]}"


def uuid4_str(rng: random.Random) -> str:
    bits = rng.getrandbits(128)
    bits = (bits & ~(0xF << 76)) | (0x4 << 76)  # version 4
    bits = (bits & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@functools.cache
def name_pools() -> tuple[list[str], list[str]]:
    from faker.providers.person import de_DE, en_US, es_ES, fr_FR

    firsts, lasts = set(), set()
    for module in (en_US, es_ES, de_DE, fr_FR):
        firsts.update(n for n in module.Provider.first_names if " " not in n)
        lasts.update(n for n in module.Provider.last_names if " " not in n)
    return sorted(firsts), sorted(lasts)


def search_fragments(count: int, seed: int = 7) -> list[str]:
    """What people type into a search box: the start of a surname (3-6 letters), in the
    surname's own spelling (accents and capitals included)."""
    _, lasts = name_pools()
    rng = random.Random(seed)
    candidates = [n for n in lasts if len(n) >= 5]
    return [n[: rng.randint(4, 6)] for n in rng.sample(candidates, count)]


def typo_queries(count: int, seed: int = 11) -> list[str]:
    """Surnames typed with a typo (two neighbouring letters swapped inside the word, "Gonzalez"
    -> "Gonzaelz"): no contact's word starts with them, so the search's typo fallback answers."""
    _, lasts = name_pools()
    rng = random.Random(seed)
    typos = []
    for name in rng.sample([n for n in lasts if len(n) >= 6 and n.isalpha()], count * 3):
        at = rng.randint(2, len(name) - 2)
        typo = name[: at - 1] + name[at] + name[at - 1] + name[at + 1 :]
        if typo.casefold() != name.casefold() and typo not in typos:
            typos.append(typo)
        if len(typos) == count:
            break
    return typos


class Dataset:
    """What has been generated so far; contact ids are kept (calls point at them)."""

    def __init__(self, admin_id: str, agent_ids: list[str]):
        self.admin_id = admin_id
        self.owner_ids = [admin_id, *agent_ids]
        self.agent_ids = agent_ids
        self.contact_ids: list[str] = []
        self.calls_generated = 0
        self.pending_words: list[tuple] = []  # search words of contacts generated, not loaded

    @property
    def contacts(self) -> int:
        return len(self.contact_ids)

    # --- contacts ------------------------------------------------------------------------

    def contact_rows(self, count: int, first_version: int) -> Iterator[tuple]:
        firsts, lasts = name_pools()
        start = self.contacts
        rng = random.Random(f"contacts-{start}")
        span = 3 * 365 * 86_400
        for offset in range(count):
            index = start + offset
            contact_id = uuid4_str(rng)
            self.contact_ids.append(contact_id)
            name = f"{rng.choice(firsts)} {rng.choice(lasts)}"
            folded = search_key(name)
            self.pending_words.extend(
                (contact_id, word, folded) for word in search_words(folded, "")
            )
            e164 = phone_e164(index)
            created = NOW - timedelta(seconds=rng.randrange(span))
            updated = min(NOW, created + timedelta(seconds=rng.randrange(30 * 86_400)))
            yield (
                contact_id,
                name,
                folded,
                phone_as_entered(e164, index),
                e164,
                self.owner_ids[index % len(self.owner_ids)],
                created,
                updated,
                first_version + offset,
                None,
            )

    # --- calls ---------------------------------------------------------------------------

    def call_items(self, count: int, *, seed: str, within_contacts: int | None = None):
        """Calls as a phone reports them: (phone, direction, started_at, duration,
        client_call_id, contact index or None). 80% are with a contact."""
        limit = within_contacts or self.contacts
        rng = random.Random(seed)
        span = 2 * 365 * 86_400
        for _ in range(count):
            if rng.random() < 0.8:
                contact = rng.randrange(limit)
                e164 = phone_e164(contact)
            else:
                contact = None
                e164 = phone_e164(UNKNOWN_BASE + rng.randrange(UNKNOWN_NUMBERS))
            started = NOW - timedelta(
                seconds=rng.randrange(span), microseconds=rng.randrange(10**6)
            )
            direction = rng.choice(_DIRECTION_POOL)
            duration = 0 if direction in ("missed", "rejected", "blocked") else rng.randrange(900)
            self.calls_generated += 1
            yield e164, direction, started, duration, str(self.calls_generated), contact

    def call_rows(self, count: int, first_version: int) -> Iterator[tuple]:
        rng = random.Random(f"call-ids-{self.calls_generated}")
        agents = self.agent_ids
        items = self.call_items(count, seed=f"calls-{self.calls_generated}")
        for offset, (e164, direction, started, duration, key, contact) in enumerate(items):
            user = int(key) % len(agents)
            yield (
                uuid4_str(rng),
                agents[user],
                self.contact_ids[contact] if contact is not None else None,
                e164,
                e164,
                direction,
                started,
                duration,
                f"device-{user}-{int(key) % 2}",
                key,
                started + timedelta(seconds=duration + 60),
                first_version + offset,
            )


# --- loading ---------------------------------------------------------------------------------


def secondary_indexes(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of every index that backs no constraint."""
    return conn.execute(
        """
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = %s::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
         ORDER BY c.relname
        """,
        [table],
    ).fetchall()


def copy_rows(conn: psycopg.Connection, table: str, columns, rows: Iterable[tuple]) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def bulk_load(conn: psycopg.Connection, table: str, columns, rows: Iterable[tuple]) -> int:
    """COPY ``rows`` with the secondary indexes dropped and rebuilt, in one transaction."""
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")  # no FK triggers
        conn.execute("SET LOCAL synchronous_commit = off")
        indexes = secondary_indexes(conn, table)
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        count = copy_rows(conn, table, columns, rows)
        for _, definition in indexes:
            conn.execute(definition)
    return count


def feed_version(conn: psycopg.Connection, feed: str) -> int:
    return conn.execute("SELECT version FROM ledger_changefeed WHERE name = %s", [feed]).fetchone()[
        0
    ]


def set_feed_version(conn: psycopg.Connection, feed: str, version: int) -> None:
    conn.execute("UPDATE ledger_changefeed SET version = %s WHERE name = %s", [version, feed])


def load_contacts(conn: psycopg.Connection, data: Dataset, count: int) -> None:
    """Add ``count`` contacts with versions after the feed's, then move the feed to the last."""
    first = feed_version(conn, "contacts") + 1
    with conn.transaction():
        bulk_load(conn, "contacts_contact", CONTACT_COLUMNS, data.contact_rows(count, first))
        bulk_load(conn, "contacts_contactword", WORD_COLUMNS, data.pending_words)
        data.pending_words = []
        conn.execute(
            "INSERT INTO contacts_searchword (word) SELECT DISTINCT word FROM contacts_contactword "
            "ON CONFLICT DO NOTHING"
        )
        set_feed_version(conn, "contacts", first + count - 1)


def load_calls(conn: psycopg.Connection, data: Dataset, count: int) -> None:
    first = feed_version(conn, "calls") + 1
    with conn.transaction():
        bulk_load(conn, "calls_calllog", CALL_COLUMNS, data.call_rows(count, first))
        set_feed_version(conn, "calls", first + count - 1)


def vacuum_analyze(conn: psycopg.Connection, *tables: str) -> None:
    """Leave the tables as a long-running server has them: statistics and visibility map.
    (``conn`` is in autocommit mode, as every connection of the harness.)"""
    for table in tables:
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
