from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from accounts.permissions import ReadOnlyForViewers
from calls import services
from calls.errors import CallBatchInvalid, CallBatchTooLarge
from calls.filters import CallFilter
from calls.selectors import call_list, call_page_rows, call_row_to_dict
from calls.serializers import CallSerializer, CallUploadResultSerializer, CallUploadSerializer
from calls.validation import call_validate
from contacts.models import Contact
from crm.pagination import PageOrKeysetPagination
from crm.routers import UUID_PATTERN


class CallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Calls are append-only: list, retrieve, upload."""

    permission_classes = [ReadOnlyForViewers]
    serializer_class = CallSerializer
    pagination_class = PageOrKeysetPagination
    filterset_class = CallFilter
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        return call_list()

    def list_is_small_by_nature(self, request) -> bool:
        """One contact's calls: counted with their page, no planner estimate asked first."""
        return self.action == "for_contact" or "contact" in request.query_params

    def list(self, request, *args, **kwargs):
        # Rows, not model instances: a page of 1,000 renders several times faster.
        page = self.paginate_queryset(call_page_rows(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response([call_row_to_dict(row) for row in page])

    @extend_schema(
        request=CallUploadSerializer(many=True),
        responses={201: CallUploadResultSerializer},
        description="One call object or an array of up to 5,000. Idempotent; all-or-nothing.",
    )
    def create(self, request, *args, **kwargs):
        payload = request.data
        if not isinstance(payload, list | dict):
            raise ParseError("Send one call object or an array of calls.")
        items = payload if isinstance(payload, list) else [payload]
        if len(items) > settings.CALLS_MAX_BATCH:
            raise CallBatchTooLarge(len(items), settings.CALLS_MAX_BATCH)
        now, user = timezone.now(), request.user  # request.user is a property: read it once
        clean, errors = [], {}
        for index, item in enumerate(items):
            call, item_errors = call_validate(item, user=user, now=now)
            if item_errors:
                errors[index] = item_errors
            clean.append(call)
        if errors:
            raise CallBatchInvalid(errors)
        result = services.call_logs_ingest(user=user, calls=clean)
        return Response(
            {"created": result.created, "duplicates": result.duplicates, "results": result.results},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(filters=False, responses={200: CallSerializer(many=True)})
    @action(
        detail=False,
        methods=["get"],
        url_path=f"contact/(?P<contact_id>{UUID_PATTERN})",
        filterset_class=None,
    )
    def for_contact(self, request, contact_id=None):
        contact = get_object_or_404(Contact.live, pk=contact_id)
        page = self.paginate_queryset(call_page_rows(call_list().filter(contact=contact)))
        return self.get_paginated_response([call_row_to_dict(row) for row in page])
