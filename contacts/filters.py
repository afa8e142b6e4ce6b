import django_filters
from django import forms

from contacts.models import Contact
from contacts.selectors import contact_search
from contacts.services import TAG_MAX_LENGTH, TAGS_MAX, tags_key
from crm.http.filters import FilterSet, UtcDateTimeFilter


class TagsField(forms.Field):
    """``?tag=a&tag=b``: every value of the repeated parameter."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return [v.strip() for v in (value or []) if isinstance(v, str) and v.strip()]

    def validate(self, value):
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
    search = django_filters.CharFilter(method="filter_search", max_length=100)
    tag = AllTagsFilter(field_name="tags_key")
    created_by = django_filters.UUIDFilter(field_name="created_by_id")
    updated_since = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Contact
        fields = ["search", "tag", "created_by", "updated_since"]

    def filter_search(self, queryset, name, value):
        return contact_search(queryset, value)


class ContactSearchFilter(ContactFilter):
    """``/contacts/search?q=`` is ``/contacts?search=`` under another name."""

    q = django_filters.CharFilter(method="filter_search", max_length=100)

    class Meta(ContactFilter.Meta):
        fields = ["q", "search", "tag", "created_by", "updated_since"]
