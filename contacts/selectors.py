"""Contact reads. Querysets leave here with their joins applied."""

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db.models import Q, QuerySet
from django.db.models.functions import Substr

from contacts.models import Contact
from contacts.phones import phone_digits
from contacts.text import search_key
from crm.timefmt import iso_columns, row_iso

CONTACT_FIELDS = (
    "id",
    "name",
    "phone",
    "phone_normalized",
    "created_by_id",
    "created_by__name",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
)


def contact_row_to_dict(row: dict) -> dict:
    """One representation of a contact for every answer (API, sync feed, 409 details)."""
    if row["deleted_at"] is not None:
        return {"id": str(row["id"]), "deleted": True, "version": row["version"]}
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "phone": row["phone"],
        "phone_normalized": row["phone_normalized"],
        "created_by": str(row["created_by_id"]),
        "created_by_name": row["created_by__name"],
        "created_at": row_iso(row, "created_at"),
        "updated_at": row_iso(row, "updated_at"),
        "version": row["version"],
    }


def contact_to_dict(contact: Contact) -> dict:
    return contact_row_to_dict(
        {
            "id": contact.id,
            "name": contact.name,
            "phone": contact.phone,
            "phone_normalized": contact.phone_normalized,
            "created_by_id": contact.created_by_id,
            "created_by__name": contact.created_by.name,
            "created_at": contact.created_at,
            "updated_at": contact.updated_at,
            "version": contact.version,
            "deleted_at": contact.deleted_at,
        }
    )


def contact_list() -> QuerySet[Contact]:
    return Contact.live.select_related("created_by").order_by("name_search", "id")


def contact_search(queryset: QuerySet[Contact], text: str) -> QuerySet[Contact]:
    """Name: case- and accent-insensitive substring, plus typo-tolerant trigram similarity
    (GIN-indexed). Phone: the digits anywhere in the E.164 number."""
    key = search_key(text)
    digits = phone_digits(text)
    if not key:
        return queryset
    queryset = queryset.alias(phone_digits=Substr("phone_normalized", 2))  # see migration 0003
    condition = Q(name_search__contains=key)
    if len(digits) >= 3:
        condition |= Q(phone_digits__contains=digits)
    if len(key) >= 3:
        condition |= Q(name_search__trigram_word_similar=key)
        return (
            queryset.filter(condition)
            .annotate(similarity=TrigramWordSimilarity(key, "name_search"))
            .order_by("-similarity", "name_search", "id")
        )
    return queryset.filter(condition)


def contact_page_rows(queryset: QuerySet[Contact]) -> QuerySet:
    """Plain rows for list pages: no model instances, rendered by contact_row_to_dict."""
    as_text = iso_columns("created_at", "updated_at")  # formatted by PostgreSQL
    fields = [f for f in CONTACT_FIELDS if f"{f}_iso" not in as_text]
    return queryset.values(*fields, **as_text)
