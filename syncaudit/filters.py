import django_filters
from django.db.models import Q

from crm.http.filters import FilterSet
from syncaudit.models import SyncRecord


class SyncRecordFilter(FilterSet):
    user = django_filters.UUIDFilter(field_name="user_id")
    device = django_filters.CharFilter(method="filter_device", max_length=128)

    class Meta:
        model = SyncRecord
        fields = ["user", "device"]

    def filter_device(self, queryset, name, value):
        # Either the phone's own id or the server's device id.
        condition = Q(device_ref=value)
        try:
            import uuid

            condition |= Q(device_id=uuid.UUID(value))
        except ValueError:
            pass
        return queryset.filter(condition)
