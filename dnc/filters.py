import django_filters

from crm.http.filters import FilterSet, TextFilter
from crm.phones import InvalidPhone, phone_normalize
from dnc.models import DncEntry


class DncEntryFilter(FilterSet):
    list = django_filters.UUIDFilter(field_name="list_id")
    phone = TextFilter(method="filter_phone", max_length=64, help_text="A number in any format.")

    class Meta:
        model = DncEntry
        fields = ["list", "phone"]

    def filter_phone(self, queryset, name, value):
        if not value:
            return queryset
        try:
            return queryset.filter(phone_normalized=phone_normalize(value))
        except InvalidPhone:
            return queryset.none()
