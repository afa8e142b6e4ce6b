import uuid

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from accounts.permissions import IsManagerOrAdmin, ReadOnlyForViewers
from calls import services
from calls.filters import CallFilter
from calls.selectors import (
    EXPORT_HEADER,
    ContactCalls,
    call_export_cells,
    call_export_rows,
    call_list,
    call_row_to_dict,
    call_rows,
    call_rows_flagged,
)
from calls.serializers import (
    CallUploadResultSerializer,
    CallUploadSerializer,
    CallWithDncSerializer,
)
from contacts.models import Contact
from crm.http.exports import (
    XLSX_TYPE,
    ExportNegotiationMixin,
    ExportQuerySerializer,
    export_response,
)
from crm.http.pagination import PageOrKeysetPagination
from crm.http.routers import UUID_PATTERN


class CallViewSet(
    ExportNegotiationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Calls are append-only: list, retrieve, upload."""

    permission_classes = [ReadOnlyForViewers]
    serializer_class = CallWithDncSerializer
    pagination_class = PageOrKeysetPagination
    filterset_class = CallFilter
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        return call_list()

    def list_is_small_by_nature(self, request) -> bool:
        """One contact's calls: counted with their page, no planner estimate asked first."""
        return self.action == "for_contact" or "contact" in request.query_params

    def _one_contact(self, request) -> uuid.UUID | None:
        """The contact of ``?contact=<id>`` when it is the only filter of a page-numbered
        list (not ``?cursor=``): ContactCalls answers it, the same rows in one prepared
        statement. Anything else (an invalid id included: its 400) takes the filter set."""
        params = request.query_params
        if "cursor" in params or {"contact"} != set(CallFilter.base_filters).intersection(params):
            return None
        try:
            return uuid.UUID(params["contact"])
        except ValueError:
            return None

    def list(self, request, *args, **kwargs):
        contact = self._one_contact(request)
        if contact is not None:
            page = self.paginate_queryset(ContactCalls(contact))
        else:
            # Rows, not model instances: a page of 1,000 renders several times faster.
            page = self.paginate_queryset(call_rows(self.filter_queryset(self.get_queryset())))
        rows = call_rows_flagged(page)  # one more query: the page's numbers against DNC
        return self.get_paginated_response([call_row_to_dict(row) for row in rows])

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, XLSX_TYPE): OpenApiTypes.BINARY},
        description="The calls the list would show with the same filters, as one file streamed "
        "in constant memory (managers and admins).",
    )
    @action(detail=False, methods=["get"], permission_classes=[IsManagerOrAdmin],
            pagination_class=None)  # fmt: skip
    def export(self, request):
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        calls = self.filter_queryset(self.get_queryset())
        return export_response(
            fmt=query.validated_data["format"], filename="calls", header=EXPORT_HEADER,
            rows=call_export_rows(calls), cells=call_export_cells,
        )  # fmt: skip

    def retrieve(self, request, *args, **kwargs):
        row = call_rows(self.get_queryset().filter(pk=self.get_object().pk)).get()
        return Response(call_row_to_dict(call_rows_flagged([row])[0]))

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
        result = services.calls_upload(user=request.user, items=items)
        return Response(
            {"created": result.created, "duplicates": result.duplicates, "results": result.results},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(filters=False, responses={200: CallWithDncSerializer(many=True)})
    @action(
        detail=False,
        methods=["get"],
        url_path=f"contact/(?P<contact_id>{UUID_PATTERN})",
        filterset_class=None,
    )
    def for_contact(self, request, contact_id=None):
        contact = get_object_or_404(Contact.live, pk=contact_id)
        page = self.paginate_queryset(call_rows(call_list().filter(contact=contact)))
        rows = call_rows_flagged(page)
        return self.get_paginated_response([call_row_to_dict(row) for row in rows])
