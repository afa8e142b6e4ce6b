"""Contact reads. Querysets leave here with their joins applied."""

import json
from datetime import timedelta

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, Lower
from django.utils import timezone

from contacts.models import Contact, ContactList, ListMembership
from contacts.search import SearchResults, search_ids_sql
from crm.db import server_prepared
from crm.db.prepared import PreparedRows, rows_by_ids
from crm.db.timefmt import IsoUtcText, iso_columns, iso_sql, iso_text
from crm.http.exports import CellSafe
from crm.timestamps import iso_utc
from dnc.selectors import dnc_blocked, dnc_blocked_sql

# What a contact's representation is made of: its columns (but the search key), its creator's
# name, and its two times as text formatted by PostgreSQL (see crm/db/timefmt.py).
_AS_TEXT = ("created_at", "updated_at")
CONTACT_FIELDS = (
    *(
        f.attname
        for f in Contact._meta.concrete_fields
        if f.attname
        not in {
            "name_search",
            "tags_key",
            "custom_fields",
            "custom_fields_hidden",
            "field_versions",
            "details_search",
            *_AS_TEXT,
        }
    ),
    "created_by__name",
)


def contact_rows(queryset: QuerySet[Contact]) -> QuerySet:
    """Plain rows for list pages and the sync feed: no model instances, rendered by
    contact_row_to_dict."""
    return queryset.values(
        *CONTACT_FIELDS,
        **iso_columns(*_AS_TEXT),
        # As text: most contacts have none, and "{}" needs no JSON decoding (a fifth of a
        # 5,000-row feed page's time went to decoding empty objects).
        custom_fields_text=Cast("custom_fields", TextField()),
    )


def _custom_fields(row: dict) -> dict:
    if "custom_fields" in row:  # from an instance (contact_to_dict)
        return row["custom_fields"]
    text = row["custom_fields_text"]
    return {} if text == "{}" else json.loads(text)


def contact_row_to_dict(row: dict) -> dict:
    """One representation of a contact for every answer (API, sync feed, 409 details)."""
    if row["deleted_at"] is not None:
        return {"id": str(row["id"]), "deleted": True, "version": row["version"]}
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "phone": row["phone"],
        "phone_normalized": row["phone_normalized"],
        "email": row["email"],
        "company": row["company"],
        "title": row["title"],
        "notes": row["notes"],
        "tags": row["tags"],
        "custom_fields": _custom_fields(row),
        "lists": [str(pk) for pk in row["lists"]],
        "created_by": str(row["created_by_id"]),
        "created_by_name": row["created_by__name"],
        "created_at": iso_text(row["created_at_iso"]),
        "updated_at": iso_text(row["updated_at_iso"]),
        "version": row["version"],
        # REST reads only (contacts_with_calls): computed, never versioned, not in the feed.
        **(
            {
                "call_count": row["call_count"],
                "last_call_at": iso_text(row["last_call_at_iso"]),
                "dnc": row["dnc"],
            }
            if "call_count" in row
            else {}
        ),
    }


def contact_to_dict(contact: Contact) -> dict:
    """contact_row_to_dict of an instance (a write's answer, or a read of contacts_with_calls)."""
    row = {name: getattr(contact, name) for name in CONTACT_FIELDS if "__" not in name}
    row["created_by__name"] = contact.created_by.name
    row["custom_fields"] = contact.custom_fields
    for name in _AS_TEXT:
        row[f"{name}_iso"] = iso_utc(getattr(contact, name))
    if hasattr(contact, "call_count"):
        row["call_count"] = contact.call_count
        row["last_call_at_iso"] = iso_utc(contact.last_call_at)
        row["dnc"] = contact.dnc
    return contact_row_to_dict(row)


def _calls_model():
    """The calls, reached through the relation they declare on contacts (CallLog.contact,
    related_name "calls"): the contacts app imports nothing of the calls app, above it."""
    return Contact._meta.get_field("calls").related_model


def _calls():
    """The calls of the contact of an outer query."""
    return _calls_model().objects.filter(contact=OuterRef("pk"))


def contacts_with_calls(queryset: QuerySet[Contact]) -> QuerySet[Contact]:
    """``call_count``, ``last_call_at`` and ``dnc`` of each contact, computed on read: three
    subqueries per row, answered from the calls' (contact, started_at) index and the DNC
    number index (a join and GROUP BY would aggregate every call before the page is cut)."""
    count = _calls().order_by().values("contact").annotate(n=Count("*")).values("n")
    last = _calls().order_by("-started_at").values("started_at")[:1]
    return queryset.annotate(
        call_count=Coalesce(Subquery(count), 0),
        last_call_at=Subquery(last),
        dnc=dnc_blocked(OuterRef("phone_normalized"), now=timezone.now()),
    )


_PAGE_EXTRAS = (
    "SELECT u.id, s.n, {last}, {blocked} FROM unnest(%s::uuid[], %s::text[]) AS u(id, phone) "
    "LEFT JOIN LATERAL (SELECT count(*) AS n, max(started_at) AS last FROM {calls} c "
    "WHERE c.contact_id = u.id) s ON true"
)


def contact_rows_summed(rows: list[dict]) -> list[dict]:
    """contact_rows of a list page, each with its calls summed up (``call_count``,
    ``last_call_at`` as text: the calls' (contact, started_at) index, once per contact) and its
    ``dnc`` (dnc.selectors.dnc_blocked_sql): one query for the page, as SQL (the ORM took
    longer to build its two queries than PostgreSQL to answer them)."""
    if not rows:
        return []
    sql = _PAGE_EXTRAS.format(
        last=iso_sql("s.last"),  # as text: no datetime made only to be written out again
        blocked=dnc_blocked_sql("u.phone"),
        calls=_calls_model()._meta.db_table,
    )
    with server_prepared.cursor() as cursor:  # prepared once per connection
        cursor.execute(  # the EXISTS' parameter (now) comes first in the statement
            sql,
            [timezone.now(), [row["id"] for row in rows],
             [row["phone_normalized"] for row in rows]],
        )  # fmt: skip
        extras = {pk: (n, last, dnc) for pk, n, last, dnc in cursor.fetchall()}
    summed = []
    for row in rows:
        n, last, dnc = extras[row["id"]]
        summed.append({**row, "call_count": n, "last_call_at_iso": last, "dnc": dnc})
    return summed


def contacts_on_dnc(queryset: QuerySet[Contact], value: bool) -> QuerySet[Contact]:
    """``dnc=``: an EXISTS per contact on the DNC number index."""
    blocked = dnc_blocked(OuterRef("phone_normalized"), now=timezone.now())
    return queryset.filter(blocked if value else ~blocked)


def contact_with_calls(pk) -> Contact:
    """One contact as a REST answer shows it (one query)."""
    return contacts_with_calls(contact_list()).get(pk=pk)


def contacts_having_calls(queryset: QuerySet[Contact], value: bool) -> QuerySet[Contact]:
    """``has_calls=``: an EXISTS per contact on the calls' contact index."""
    has = Exists(_calls())
    return queryset.filter(has if value else ~has)


def contact_list() -> QuerySet[Contact]:
    return Contact.live.select_related("created_by").order_by("name_search", "id")


def contact_book_rows(queryset: QuerySet[Contact]):
    """contact_rows of the whole book (contact_list() unfiltered) for a list page: its SQL is
    built once per process (crm.db.prepared)."""
    return PreparedRows(contact_rows(queryset), ("contacts.book",))


def contact_search(queryset: QuerySet[Contact], text: str) -> QuerySet[Contact]:
    """The contacts a search matches (contacts/search.py: word prefixes of the name, email and
    company, a number's digits anywhere), unranked: for filters, exports, bulk operations and
    the admin. A list page ranks them instead (contact_search_ranked)."""
    sql = search_ids_sql(text)
    if sql is None:
        return queryset
    return queryset.filter(pk__in=RawSQL(*sql))  # noqa: S611 - contacts/search.py's SQL


def contact_search_ranked(queryset: QuerySet[Contact], text: str) -> QuerySet[Contact]:
    """A list's search: only noted on the queryset (an alias, never selected), for the list to
    page it ranked from the word index (contact_search_page), after the other filters."""
    earlier = contact_search_text(queryset)
    return queryset.alias(search_text=Value(f"{earlier} {text}" if earlier else text))


def contact_search_text(queryset: QuerySet[Contact]) -> str | None:
    alias = queryset.query.annotations.get("search_text")
    return alias.value if alias is not None else None


def contact_search_page(queryset: QuerySet[Contact], *, filtered: bool) -> SearchResults:
    """The ranked search noted on ``queryset`` (contact_search_ranked), for the paginator: the
    page's rows as contact_rows gives them. ``filtered``: other filters than the search apply
    (the matches are then cut to ``queryset``'s contacts)."""

    def rows(ids):
        return rows_by_ids(
            lambda: contact_rows(contact_list().order_by()), ("contacts.rows",), ids,
            using=queryset.db,
        )  # fmt: skip

    within = queryset.order_by() if filtered else None
    return SearchResults(contact_search_text(queryset) or "", rows=rows, within=within)


# --- contact lists ---------------------------------------------------------------------------

LIST_FIELDS = ("id", "name", "description", "created_by_id", "created_at", "updated_at")


def list_list() -> QuerySet[ContactList]:
    return ContactList.live.order_by(Lower("name"), "id")


def list_rows(queryset: QuerySet[ContactList]) -> QuerySet:
    """Plain rows for list pages and the lists feed (rendered by list_row_to_dict)."""
    return queryset.values("id", "name", "description", "created_by_id", "created_at",
                           "updated_at", "version", "deleted_at")  # fmt: skip


def list_row_to_dict(row: dict) -> dict:
    """A list as the feed carries it; REST answers add ``contact_count`` (list_counts)."""
    if row["deleted_at"] is not None:
        return {"id": str(row["id"]), "deleted": True, "version": row["version"]}
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "description": row["description"],
        "created_by": str(row["created_by_id"]),
        "created_at": iso_utc(row["created_at"]),
        "updated_at": iso_utc(row["updated_at"]),
        "version": row["version"],
    }


def list_to_dict(contact_list: ContactList, contact_count: int | None = None) -> dict:
    row = {name: getattr(contact_list, name) for name in (*LIST_FIELDS, "version", "deleted_at")}
    answer = list_row_to_dict(row)
    if contact_count is None:
        contact_count = list_counts([contact_list.pk]).get(contact_list.pk, 0)
    return {**answer, "contact_count": contact_count}


def list_counts(list_ids) -> dict:
    """Live members of each list: one grouped query for a page of lists (the membership's
    (list, contact) index, joined to the live contacts)."""
    rows = (
        ListMembership.objects.filter(list_id__in=list_ids, contact__deleted_at__isnull=True)
        .order_by()
        .values("list_id")
        .annotate(n=Count("*"))
    )
    return {row["list_id"]: row["n"] for row in rows}


def list_contacts(list_id) -> QuerySet[Contact]:
    """The live contacts on a list, as /contacts orders them (the GIN index on lists)."""
    return contact_list().filter(lists__contains=[list_id])


# --- stats -----------------------------------------------------------------------------------

_BY_TAG = """
SELECT min(u.tag), count(*) FROM {contact} c, unnest(c.tags, c.tags_key) AS u(tag, tag_key)
WHERE c.deleted_at IS NULL GROUP BY u.tag_key ORDER BY count(*) DESC, min(u.tag) LIMIT %s
"""
_BY_LIST = """
SELECT u.list_id, count(*) FROM {contact} c, unnest(c.lists) AS u(list_id)
WHERE c.deleted_at IS NULL GROUP BY u.list_id
"""


def contact_stats_by_tag(*, limit: int | None = None) -> dict[str, int]:
    """Live contacts per tag (tags compared without case; one of the spellings shown), most
    used first."""
    with connection.cursor() as cursor:
        cursor.execute(_BY_TAG.format(contact=Contact._meta.db_table), [limit])
        return dict(cursor.fetchall())


def contact_stats(*, now) -> dict:
    """GET /contacts/stats: five aggregate queries over the live contacts (one for the
    totals, one for contacts with calls, one for those on DNC, one per breakdown)."""
    live = Contact.live.order_by()
    totals = live.aggregate(
        total=Count("*"),
        recent=Count("pk", filter=Q(created_at__gte=now - timedelta(days=7))),
    )
    with_calls = (
        _calls_model()
        .objects.filter(contact__deleted_at__isnull=True)
        .order_by()
        .aggregate(n=Count("contact", distinct=True))["n"]
    )
    by_tag = contact_stats_by_tag()
    with connection.cursor() as cursor:
        cursor.execute(_BY_LIST.format(contact=Contact._meta.db_table))
        by_list = {str(pk): n for pk, n in cursor.fetchall()}
    return {
        "total": totals["total"],
        "created_last_7_days": totals["recent"],
        "with_calls": with_calls,
        "dnc": live.filter(dnc_blocked(OuterRef("phone_normalized"), now=now)).count(),
        "by_tag": by_tag,
        "by_list": by_list,
    }


# --- export ----------------------------------------------------------------------------------

EXPORT_HEADER = (
    "id", "name", "phone", "phone_normalized", "email", "company", "title", "notes", "tags",
    "custom_fields", "lists", "created_at", "created_by_email", "updated_at", "version",
)  # fmt: skip
_EXPORT_VALUES = (
    "id", "name", "phone", "phone_normalized", "email", "company", "title", "notes", "tags",
    "custom_fields", "lists", "created_at", "created_by__email", "updated_at", "version",
)  # fmt: skip


def contact_export_rows(queryset: QuerySet[Contact]):
    """The rows of an export, read through a server-side cursor (constant memory)."""
    return queryset.values(*_EXPORT_VALUES).iterator(chunk_size=2000)


def contact_export_csv(queryset: QuerySet[Contact]) -> QuerySet:
    """The export's cells as SQL expressions, in EXPORT_HEADER order, for PostgreSQL to write
    the CSV itself (crm.http.exports.copy_csv_response): the cells contact_export_cells gives
    (a test compares the two files)."""
    table = Contact._meta.db_table
    lists = RawSQL(  # noqa: S611 - the models' table names, no input
        "SELECT coalesce(string_agg(l.name, ', ' ORDER BY l.name COLLATE \"C\"), '') "  # noqa: S608
        f"FROM {ContactList._meta.db_table} l WHERE l.id = ANY({table}.lists)",
        [],
        output_field=TextField(),
    )
    custom = RawSQL(  # noqa: S611 - the model's table name, no input
        f"CASE WHEN {table}.custom_fields = '{{}}'::jsonb THEN '' "
        f"ELSE {table}.custom_fields::text END",
        [],
        output_field=TextField(),
    )
    tags = Func(F("tags"), Value(", "), function="array_to_string", output_field=TextField())
    text = {
        "id": Cast("id", TextField()), "name": F("name"), "phone": F("phone"),
        "phone_normalized": F("phone_normalized"), "email": F("email"),
        "company": F("company"), "title": F("title"), "notes": F("notes"), "tags": tags,
        "custom_fields": custom, "lists": lists,
    }  # fmt: skip
    cells = {f"c_{name}": CellSafe(expression) for name, expression in text.items()}
    cells["c_created_at"] = IsoUtcText("created_at")
    cells["c_created_by_email"] = CellSafe(F("created_by__email"))
    cells["c_updated_at"] = IsoUtcText("updated_at")
    cells["c_version"] = F("version")
    return queryset.values(**cells)


def contact_export_cells():
    """A function from an export row to its cells (the import reads them back; the lists are
    named, and ignored by an import)."""
    names = dict(ContactList.objects.values_list("pk", "name"))

    def cells(row: dict) -> list:
        return [
            str(row["id"]), row["name"], row["phone"], row["phone_normalized"], row["email"],
            row["company"], row["title"], row["notes"], ", ".join(row["tags"]),
            json.dumps(row["custom_fields"], ensure_ascii=False) if row["custom_fields"] else "",
            ", ".join(sorted(names.get(pk, "") for pk in row["lists"])),
            row["created_at"], row["created_by__email"], row["updated_at"], row["version"],
        ]  # fmt: skip

    return cells
