# ruff: noqa: S608 - SQL from table names and fixed fragments; every value is a parameter
"""What a search matches, and in which order (the contract's "Search"): word prefixes.

A query is split into words, folded like the contacts' words (contacts.text.search_key). A
contact matches when every query word starts one of its words (contacts.ContactWord: name,
email split at @ . - _ +, company); a word of 3+ digits also matches those digits anywhere in
the number. Results: most exact words first, then the name, then the id. Only when the prefix
matches are fewer than a page does a query word of 4+ letters also match words that look like
it (pg_trgm similarity against the vocabulary, contacts.SearchWord): the typo fallback, ranked
after every prefix match.

The ranking is read from the word index alone (word, name_search, contact): a page costs a
range scan per query word and the 50 rows it names, however many contacts the book holds.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from contacts.models import Contact, ContactWord, SearchWord
from contacts.text import search_key
from crm.db import server_prepared
from crm.phones import phone_digits

_WORD = ContactWord._meta.db_table
_VOCABULARY = SearchWord._meta.db_table
_CONTACT = Contact._meta.db_table

# A whole query made of a phone number's characters is one number ("+1 (212) 555-0123").
_PHONE_LIKE = re.compile(r"[\d\s+\-().]+")
NUMBER_DIGITS = 3  # a query word of this many digits also matches the number anywhere
TYPO_LETTERS = 4  # a query word of this many letters may match by similarity (typos)
TYPO_SIMILARITY = 0.25  # pg_trgm similarity from which a word is a typo's ("jonh" ~ "john")
TYPO_CANDIDATES = 50  # the vocabulary words nearest to a query word that are considered


@dataclass(frozen=True, slots=True)
class Term:
    word: str  # folded
    digits: str = ""  # set when it is a number: matched anywhere in the E.164 digits
    typo: bool = False  # may match by similarity (the fallback)


def search_terms(text: str) -> list[Term]:
    """The query's words (each once), as the search matches them."""
    text = text.strip()
    if _PHONE_LIKE.fullmatch(text) and len(digits := phone_digits(text)) >= NUMBER_DIGITS:
        return [Term(digits, digits=digits)]
    terms = {}
    for word in search_key(text).split():
        digits = phone_digits(word)
        if len(digits) >= NUMBER_DIGITS and _PHONE_LIKE.fullmatch(word):
            terms[word] = Term(word, digits=digits)
        else:
            letters = sum(ch.isalpha() for ch in word)
            terms[word] = Term(word, typo=letters >= TYPO_LETTERS)
    return list(terms.values())


def _after(prefix: str) -> str:
    """The first string (in byte order) after every string starting with ``prefix``."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            following = last + 1 if last + 1 != 0xD800 else 0xE000  # no surrogates in UTF-8
            return prefix[:-1] + chr(following)
        prefix = prefix[:-1]
    return "\U0010ffff"


def _prefix_hits(term: Term, params: list) -> str:
    """(contact_id, exact, ns) of the live contacts one term matches by prefix (or number)."""
    params += [term.word, term.word, _after(term.word)]
    sql = (
        f"SELECT contact_id, word = %s AS exact, name_search AS ns FROM {_WORD} "
        "WHERE word >= %s AND word < %s"
    )
    if term.digits:
        params.append(f"%{term.digits}%")
        sql += (
            f" UNION ALL SELECT id, true, name_search FROM {_CONTACT} "
            "WHERE deleted_at IS NULL AND substring(phone_normalized, 2) LIKE %s"
        )
    return sql


def _typo_hits(term: Term, params: list) -> str:
    """(contact_id, ns, sim) of the live contacts having a word that looks like the term's."""
    params += [term.word, term.word, TYPO_CANDIDATES, TYPO_SIMILARITY]
    return (
        f"SELECT w.contact_id, w.name_search AS ns, v.sim FROM {_WORD} w JOIN ("
        f"SELECT word, similarity(word, %s) AS sim FROM (SELECT word FROM {_VOCABULARY} "
        "ORDER BY word <-> %s LIMIT %s) n) v ON w.word = v.word WHERE v.sim >= %s"
    )


def _matches(terms: list[Term], within: QuerySet | None, *, typos: bool) -> tuple[str, list]:
    """SQL of (id, tier, exact, sim, ns): every contact that every term matches. ``tier`` 0 is
    a prefix match, 1 a typo match; ``exact`` counts the terms equal to a word."""
    params: list = []
    parts = []
    for term in terms:
        hits = _prefix_hits(term, params)
        if typos and term.typo:
            typo = _typo_hits(term, params)
            hits = (
                f"SELECT contact_id, exact, ns, 0 AS tier, 1.0::real AS sim FROM ({hits}) p "
                f"UNION ALL SELECT contact_id, false, ns, 1, sim FROM ({typo}) t"
            )
        else:
            hits = f"SELECT contact_id, exact, ns, 0 AS tier, 1.0::real AS sim FROM ({hits}) p"
        parts.append(
            f"SELECT contact_id, min(tier) AS tier, bool_or(exact) AS exact, max(sim) AS sim, "
            f"min(ns) AS ns FROM ({hits}) h GROUP BY contact_id"
        )
    sql = " JOIN ".join(
        f"({part}) t{i}" + (" USING (contact_id)" if i else "") for i, part in enumerate(parts)
    )
    columns = ", ".join(
        [
            "contact_id AS id",
            "greatest(" + ", ".join(f"t{i}.tier" for i in range(len(parts))) + ") AS tier",
            "(" + " + ".join(f"t{i}.exact::int" for i in range(len(parts))) + ") AS exact",
            "least(" + ", ".join(f"t{i}.sim" for i in range(len(parts))) + ") AS sim",
            "t0.ns",
        ]
    )
    sql = f"SELECT {columns} FROM {sql}"
    if within is not None:
        inner, inner_params = within.values("pk").query.sql_with_params()
        sql += f" WHERE contact_id IN ({inner})"
        params += inner_params
    return sql, params


def search_ids_sql(text: str) -> tuple[str, list] | None:
    """SQL of the ids of the live contacts a query matches (prefix and number matches: what a
    filter, an export or a bulk operation selects), or None for a query without words."""
    terms = search_terms(text)
    if not terms:
        return None
    sql, params = _matches(terms, None, typos=False)
    return f"SELECT id FROM ({sql}) m", params


_ORDER = "ORDER BY tier, exact DESC, sim DESC, ns, id"


@dataclass
class SearchPage:
    ids: list
    total: int


def _page(terms, within, *, typos: bool, offset: int, limit: int) -> SearchPage:
    sql, params = _matches(terms, within, typos=typos)
    with server_prepared.cursor() as cursor:  # prepared once per connection and query shape
        cursor.execute(
            f"SELECT id, count(*) OVER () FROM ({sql}) m {_ORDER} LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        rows = cursor.fetchall()
        if rows or offset == 0:
            return SearchPage([row[0] for row in rows], rows[0][1] if rows else 0)
        cursor.execute(f"SELECT count(*) FROM ({sql}) m", params)  # past the end
        return SearchPage([], cursor.fetchone()[0])


class SearchResults:
    """A ranked search as the paginator pages it (crm.http.pagination): ``page_and_total``
    gives one page of contact rows and the total, in one query over the word index, then the
    page's rows by id."""

    def __init__(self, text: str, *, rows, within: QuerySet | None = None):
        self.terms = search_terms(text)
        self.rows = rows  # ids -> contact rows in any order (the list's row shape)
        self.within = within

    def page_and_total(self, offset: int, limit: int) -> tuple[list, int, bool]:
        if not self.terms:
            return [], 0, False
        page = _page(self.terms, self.within, typos=False, offset=offset, limit=limit)
        if page.total < limit and any(term.typo for term in self.terms):
            page = _page(self.terms, self.within, typos=True, offset=offset, limit=limit)
        by_id = {row["id"]: row for row in self.rows(page.ids)} if page.ids else {}
        rows = [by_id[pk] for pk in page.ids if pk in by_id]
        return rows, page.total, page.total > settings.SEARCH_EXACT_COUNT_LIMIT
