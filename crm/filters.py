from datetime import UTC

import django_filters


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601 filter values are compared in UTC, whatever offset the client wrote (the
    database refuses some offsets Python accepts, e.g. -19:14)."""

    def filter(self, qs, value):
        if value is not None:
            value = value.astimezone(UTC)
        return super().filter(qs, value)
