import django_filters

from contacts.models import Contact
from contacts.selectors import contact_search
from crm.http.filters import FilterSet, UtcDateTimeFilter


class ContactFilter(FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=100)
    created_by = django_filters.UUIDFilter(field_name="created_by_id")
    updated_since = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Contact
        fields = ["search", "created_by", "updated_since"]

    def filter_search(self, queryset, name, value):
        return contact_search(queryset, value)


class ContactSearchFilter(ContactFilter):
    """``/contacts/search?q=`` is ``/contacts?search=`` under another name."""

    q = django_filters.CharFilter(method="filter_search", max_length=100)

    class Meta(ContactFilter.Meta):
        fields = ["q", "search", "created_by", "updated_since"]
