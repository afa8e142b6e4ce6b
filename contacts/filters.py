import django_filters
from django import forms

from contacts.models import Contact
from contacts.selectors import (
    contact_search,
    contact_search_ranked,
    contacts_having_calls,
    contacts_on_dnc,
)
from contacts.services import TAG_MAX_LENGTH, TAGS_MAX, tags_key
from crm.http.filters import FilterSet, TextFilter, UtcDateTimeFilter
from crm.text import text_is_storable


class TagsField(forms.Field):
    """``?tag=a&tag=b``: every value of the repeated parameter."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return [v.strip() for v in (value or []) if isinstance(v, str) and v.strip()]

    def validate(self, value):
        if any(not text_is_storable(tag) for tag in value):
            raise forms.ValidationError(
                "Contains characters that cannot be stored.", code="invalid"
            )
        if any(len(tag) > TAG_MAX_LENGTH for tag in value) or len(value) > TAGS_MAX:
            raise forms.ValidationError(
                f"At most {TAGS_MAX} tags of at most {TAG_MAX_LENGTH} characters.", code="invalid"
            )


class AllTagsFilter(django_filters.Filter):
    """Contacts that carry every tag named, in any case (the GIN index on the folded tags)."""

    field_class = TagsField

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(tags_key__contains=tags_key(value))


class ContactFilter(FilterSet):
    search = TextFilter(
        method="filter_search", max_length=100,
        help_text="Word prefixes: every word is the start of a word of the name, the email "
        "(split at @ . - _ +) or the company, case and accents ignored; a word of 3+ digits "
        "also matches those digits anywhere in the number. Exact words first, then by name; "
        "when fewer than a page match, words of 4+ letters also match similar words (typos), "
        "after every prefix match.",
    )  # fmt: skip
    tag = AllTagsFilter(field_name="tags_key")
    company = TextFilter(
        field_name="company", lookup_expr="iexact", max_length=200,
        help_text="The company's name, without regard to case.",
    )  # fmt: skip
    has_calls = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_has_calls",
        help_text="true: contacts with at least one call; false: without.",
    )  # fmt: skip
    dnc = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_dnc",
        help_text="true: contacts whose number is on an active do-not-call entry; false: not.",
    )  # fmt: skip
    list = django_filters.UUIDFilter(
        method="filter_list", help_text="Contacts on this contact list (its id)."
    )
    created_by = django_filters.UUIDFilter(field_name="created_by_id")
    updated_since = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Contact
        fields = [
            "search", "tag", "list", "company", "dnc", "has_calls", "created_by", "updated_since",
        ]  # fmt: skip

    def filter_dnc(self, queryset, name, value):
        return contacts_on_dnc(queryset, value == "true") if value else queryset

    def filter_list(self, queryset, name, value):
        return queryset.filter(lists__contains=[value]) if value else queryset

    def filter_search(self, queryset, name, value):
        return contact_search(queryset, value) if value else queryset

    def filter_has_calls(self, queryset, name, value):
        return contacts_having_calls(queryset, value == "true") if value else queryset


class ContactListFilter(ContactFilter):
    """The list pages' filters: the search is ranked by the page (contact_search_page), so
    here it is only noted; the other filters apply as usual."""

    def filter_search(self, queryset, name, value):
        return contact_search_ranked(queryset, value) if value else queryset


class ContactSearchFilter(ContactListFilter):
    """``/contacts/search?q=`` is ``/contacts?search=`` under another name."""

    q = TextFilter(method="filter_search", max_length=100, help_text="The same as ``search``.")

    class Meta(ContactFilter.Meta):
        fields = [
            "q", "search", "tag", "list", "company", "dnc", "has_calls", "created_by",
            "updated_since",
        ]  # fmt: skip
