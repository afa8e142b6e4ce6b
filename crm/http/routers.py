from django.core.exceptions import ValidationError
from django.http import Http404
from rest_framework.routers import SimpleRouter

UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class OptionalSlashRouter(SimpleRouter):
    """Routes answer with and without a trailing slash, so no redirect ever drops a POST body."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


class UuidLookupMixin:
    """For viewsets of UUID-keyed records: the route only takes UUID-shaped ids, and an id
    that is still not a UUID is simply "not found", never a database error."""

    lookup_value_regex = UUID_PATTERN

    def get_object(self):
        try:
            return super().get_object()
        except (ValueError, ValidationError) as exc:
            raise Http404 from exc
