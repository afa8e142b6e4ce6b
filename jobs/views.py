from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.permissions import IsManagerOrAdmin
from crm.http.errors import PayloadTooLarge
from crm.http.exports import export_response
from crm.http.parsers import JSONParser
from crm.http.routers import UuidLookupMixin
from jobs import services
from jobs.imports import template_csv
from jobs.selectors import (
    ERRORS_HEADER,
    import_errors_rows,
    import_job_list,
    import_job_to_dict,
    import_mapping_list,
    import_mapping_to_dict,
)
from jobs.serializers import (
    ImportCreateSerializer,
    ImportJobSerializer,
    ImportMappingRequestSerializer,
    ImportMappingSerializer,
    ImportTemplateQuerySerializer,
)

_CSV = OpenApiResponse(description="CSV (UTF-8 with a BOM).")


class ImportJobViewSet(
    UuidLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Import jobs: upload a file, follow its progress, read its errors, cancel or undo it.
    Managers and admins only."""

    permission_classes = [IsManagerOrAdmin]
    # The upload is multipart; cancel and undo take no body (JSON is read, and ignored).
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    serializer_class = ImportJobSerializer
    filterset_class = None

    def get_queryset(self):
        return import_job_list()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([import_job_to_dict(job) for job in page])

    def retrieve(self, request, *args, **kwargs):
        return Response(import_job_to_dict(self.get_object()))

    @extend_schema(request={"multipart/form-data": ImportCreateSerializer},
                   responses={202: ImportJobSerializer})  # fmt: skip
    def create(self, request, *args, **kwargs):
        # Refused before the body is read, when it says it is too large.
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.IMPORT_MAX_BYTES + 1024 * 1024:
            raise PayloadTooLarge(
                f"The file is larger than {settings.IMPORT_MAX_BYTES // (1024 * 1024)} MB.",
                details={"limit": settings.IMPORT_MAX_BYTES, "size": length},
            )
        serializer = ImportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = services.import_job_create(
            actor=request.user, file=data["file"], kind=data["kind"], list_id=data.get("list"),
            dry_run=data["dry_run"], skip_invalid=data["skip_invalid"], user=data.get("user"),
            device_id=data.get("device_id", ""), mapping=data.get("mapping"),
            mapping_name=data.get("mapping_name") or None,
        )  # fmt: skip
        return Response(import_job_to_dict(job), status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "text/csv"): _CSV})
    @action(detail=True, methods=["get"], pagination_class=None)
    def errors(self, request, pk=None):
        job = self.get_object()
        return export_response(
            fmt="csv", filename=f"import-{job.pk}-errors", header=ERRORS_HEADER,
            rows=import_errors_rows(job), cells=lambda row: [row[c] for c in ERRORS_HEADER],
        )  # fmt: skip

    @extend_schema(request=None, responses={200: ImportJobSerializer})
    @action(detail=True, methods=["post"], pagination_class=None)
    def cancel(self, request, pk=None):
        job = services.import_job_cancel(actor=request.user, job=self.get_object())
        return Response(import_job_to_dict(job))

    @extend_schema(request=ImportMappingRequestSerializer, responses={202: ImportJobSerializer})
    @action(detail=True, methods=["post"], pagination_class=None)
    def mapping(self, request, pk=None):
        body = ImportMappingRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.import_job_map(
            actor=request.user, job=self.get_object(), mapping=body.validated_data["mapping"],
            save_as=body.validated_data.get("save_as", ""),
        )  # fmt: skip
        return Response(import_job_to_dict(job), status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: ImportMappingSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)
    def mappings(self, request):
        return Response([import_mapping_to_dict(m) for m in import_mapping_list()])

    @extend_schema(request=None, responses={200: ImportJobSerializer})
    @action(detail=True, methods=["post"], pagination_class=None)
    def undo(self, request, pk=None):
        job = services.import_job_undo(actor=request.user, job=self.get_object())
        return Response(import_job_to_dict(job))

    @extend_schema(parameters=[ImportTemplateQuerySerializer],
                   responses={(200, "text/csv"): _CSV})  # fmt: skip
    @action(detail=False, methods=["get"], pagination_class=None)
    def template(self, request):
        query = ImportTemplateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        kind = query.validated_data["kind"]
        response = HttpResponse(
            "\ufeff" + template_csv(kind), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
        return response
