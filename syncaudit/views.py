from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsManagerOrAdmin
from calls.errors import CallBatchTooLarge
from crm.errors import ApiError, ErrorCode, PayloadTooLarge
from syncaudit import selectors, services
from syncaudit.filters import SyncRecordFilter
from syncaudit.models import SyncRecord
from syncaudit.serializers import (
    DeviceSerializer,
    FeedPageSerializer,
    FeedQuerySerializer,
    SyncRecordSerializer,
    SyncRequestSerializer,
    SyncResponseSerializer,
)
from syncaudit.versioning import CALLS, CONTACTS

_FEED_PARAMS = [
    OpenApiParameter("cursor", str, description="Opaque cursor from the previous answer."),
    OpenApiParameter("limit", int, description="Default 500, max 5000."),
]


class _FeedView(APIView):
    feed: str

    @extend_schema(parameters=_FEED_PARAMS, responses={200: FeedPageSerializer})
    def get(self, request):
        query = FeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        cursor, _ = selectors.feed_cursor_check(self.feed, query.validated_data.get("cursor"))
        page = selectors.feed_read(self.feed, cursor, limit=query.validated_data["limit"])
        return Response({"changes": page.changes, "cursor": page.cursor, "has_more": page.has_more})


class ContactFeedView(_FeedView):
    feed = CONTACTS


class CallFeedView(_FeedView):
    feed = CALLS


def _client_address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class SyncView(APIView):
    @extend_schema(request=SyncRequestSerializer, responses={200: SyncResponseSerializer})
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        raw_cursor = data.get("cursor") if isinstance(data.get("cursor"), str) else ""
        serializer = SyncRequestSerializer(data=request.data)
        sync_request, error = None, None
        if not isinstance(request.data, dict):
            error = ApiError(code=ErrorCode.VALIDATION_ERROR, message="Send a JSON object.")
        elif not serializer.is_valid():
            from rest_framework.exceptions import ValidationError

            error = ValidationError(serializer.errors)
        else:
            v = serializer.validated_data
            sync_request = services.SyncRequest(
                device_id=v["device"]["id"],
                platform=v["device"]["platform"],
                app_version=v["device"]["app_version"],
                cursor=v.get("cursor") or None,
                contacts=v["contacts"],
                calls=v["calls"],
                limit=min(v["limit"], selectors.FEED_LIMIT_MAX),
            )
            for kind in ("contacts", "calls"):
                size = len(v[kind])
                if size > settings.CALLS_MAX_BATCH:
                    error = CallBatchTooLarge(size, settings.CALLS_MAX_BATCH)
                    error.detail = f"A sync pushes at most {settings.CALLS_MAX_BATCH} {kind}."
        if error is not None and not isinstance(error, ApiError):
            error = _as_api_error(error)
        body = services.sync_run(
            user=request.user,
            request=sync_request,
            raw_cursor=raw_cursor,
            client_address=_client_address(request),
            parse_error=error,
        )
        return Response(body)


def _as_api_error(exc) -> ApiError:
    from crm.errors import _as_details, _flatten_message

    return ApiError(
        code=ErrorCode.VALIDATION_ERROR,
        message="Invalid input: " + _flatten_message(exc.detail),
        details=_as_details(exc.detail),
    )


class DeviceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsManagerOrAdmin]
    serializer_class = DeviceSerializer

    def get_queryset(self):
        return selectors.device_list()


class SyncRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SyncRecordSerializer
    filterset_class = SyncRecordFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return SyncRecord.objects.none()
        return selectors.sync_record_list(viewer=self.request.user)


__all__ = ["PayloadTooLarge"]
