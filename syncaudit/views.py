from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.http.clients import client_address
from crm.http.errors import PayloadTooLarge
from crm.http.routers import UuidLookupMixin
from crm.http.schema import CURSOR_PATTERN
from dnc.services import dnc_expire_due
from ledger.versioning import CALLS, CONTACTS, DNC, LISTS
from syncaudit import selectors, services
from syncaudit.errors import InvalidCursor
from syncaudit.filters import SyncRecordFilter
from syncaudit.models import Device, SyncRecord
from syncaudit.serializers import (
    CURSOR_HELP,
    CallFeedPageSerializer,
    ContactFeedPageSerializer,
    DeviceSerializer,
    DncFeedPageSerializer,
    FeedQuerySerializer,
    ListFeedPageSerializer,
    PushSubscriptionInSerializer,
    PushSubscriptionSerializer,
    SyncRecordSerializer,
    SyncRequestSerializer,
    SyncResponseSerializer,
    SyncSerializer,
)

_FEED_PARAMS = [
    OpenApiParameter(
        "cursor",
        {"type": "string", "maxLength": 4000, "pattern": CURSOR_PATTERN},
        description=CURSOR_HELP,
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1},
        description="Default 500; more than 5000 reads as 5000.",
    ),
]


class _FeedView(APIView):
    feed: str

    def get(self, request):
        query = FeedQuerySerializer(data=request.query_params)
        if not query.is_valid():
            if "cursor" in query.errors:
                raise InvalidCursor()
            raise ValidationError(query.errors)
        cursor, _ = selectors.feed_cursor_check(self.feed, query.validated_data.get("cursor"))
        page = selectors.feed_read(self.feed, cursor, limit=query.validated_data["limit"])
        return Response({"changes": page.changes, "cursor": page.cursor, "has_more": page.has_more})


@extend_schema(parameters=_FEED_PARAMS, responses={200: ContactFeedPageSerializer})
class ContactFeedView(_FeedView):
    feed = CONTACTS


@extend_schema(parameters=_FEED_PARAMS, responses={200: CallFeedPageSerializer})
class CallFeedView(_FeedView):
    feed = CALLS


@extend_schema(parameters=_FEED_PARAMS, responses={200: ListFeedPageSerializer})
class ListFeedView(_FeedView):
    """The contact lists phones keep: names, descriptions and deletions. Membership travels
    with the contacts (their ``lists``)."""

    feed = LISTS


@extend_schema(parameters=_FEED_PARAMS, responses={200: DncFeedPageSerializer})
class DncFeedView(_FeedView):
    """The numbers phones must not dial, to check offline. An entry removed, expired or whose
    list was deactivated comes as a tombstone; expiries are versioned first (dnc/services.py,
    dnc_expire_due: one index probe when nothing is due)."""

    feed = DNC

    def get(self, request):
        dnc_expire_due()
        return super().get(request)


class SyncView(APIView):
    @extend_schema(request=SyncSerializer, responses={200: SyncResponseSerializer})
    def post(self, request):
        """Every call writes an audit row, including the ones refused before any work."""
        sync_request, error, data = None, None, {}
        try:
            data = request.data
        except RequestDataTooBig:
            error = PayloadTooLarge()
        except APIException as exc:  # malformed JSON, wrong content type
            error = exc
        if error is None:
            sync_request, error = _parse_sync_request(data)
        raw_cursor = data.get("cursor") if isinstance(data, dict) else None
        body = services.sync_run(
            user=request.user,
            request=sync_request,
            raw_cursor=raw_cursor if isinstance(raw_cursor, str) else "",
            client_address=client_address(request),
            parse_error=error,
        )
        return Response(body)


def _parse_sync_request(data) -> tuple[services.SyncRequest | None, APIException | None]:
    if not isinstance(data, dict):
        return None, ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = SyncRequestSerializer(data=data)
    if not serializer.is_valid():
        return None, ValidationError(serializer.errors)
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
    limit = settings.CALLS_MAX_BATCH
    too_many = [kind for kind in ("contacts", "calls") if len(v[kind]) > limit]
    if too_many:
        sizes = {kind: len(v[kind]) for kind in too_many}
        return sync_request, PayloadTooLarge(
            message=f"A sync pushes at most {limit} contacts and {limit} calls.",
            details={"limit": limit, **sizes},
        )
    return sync_request, None


class DeviceViewSet(
    UuidLookupMixin, mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Phones: everyone sees and signs out their own; managers and admins every phone."""

    serializer_class = DeviceSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Device.objects.none()
        return selectors.device_list(viewer=self.request.user)

    @extend_schema(
        description="Sign the phone out: its refresh tokens stop working, its event stream "
        "ends and its push endpoint is dropped. A new login naming it signs it in again."
    )
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.device_revoke(actor=self.request.user, device=instance)

    @extend_schema(
        methods=["POST"],
        request=PushSubscriptionInSerializer,
        responses={201: PushSubscriptionSerializer},
        description="Register the phone's Web Push (UnifiedPush) endpoint; it replaces any "
        "earlier one. Only the phone's own user may.",
    )
    @extend_schema(methods=["DELETE"], request=None, responses={204: None})
    @action(detail=True, methods=["post", "delete"], url_path="push")
    def push(self, request, pk=None):
        device = self.get_object()
        if device.user_id != request.user.pk:
            raise PermissionDenied("Only the phone's own user manages its push endpoint.")
        if request.method == "DELETE":
            services.device_push_remove(device=device)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = PushSubscriptionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription = services.device_push_register(
            device=device,
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
        )
        return Response(
            PushSubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED
        )


class SyncRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SyncRecordSerializer
    filterset_class = SyncRecordFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return SyncRecord.objects.none()
        return selectors.sync_record_list(viewer=self.request.user)
