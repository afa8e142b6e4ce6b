import django_filters

from calls.models import CallLog, Direction
from crm.http.filters import FilterSet, UtcDateTimeFilter
from crm.phones import phone_normalize_or_blank


class CallFilter(FilterSet):
    user = django_filters.UUIDFilter(field_name="user_id")
    contact = django_filters.UUIDFilter(field_name="contact_id")
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    since = UtcDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="started_at", lookup_expr="lt")
    phone = django_filters.CharFilter(method="filter_phone", max_length=64)

    class Meta:
        model = CallLog
        fields = ["user", "contact", "direction", "since", "until", "phone"]

    def filter_phone(self, queryset, name, value):
        # The same normalisation as at upload: "+1 (415) 555-0100" finds "+14155550100".
        normalized = phone_normalize_or_blank(value)
        if normalized:
            return queryset.filter(phone_normalized=normalized)
        return queryset.filter(phone=value.strip())
