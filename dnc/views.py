from django.utils import timezone
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ReadAllWriteManagers
from crm.http.errors import PayloadTooLarge
from crm.http.routers import UuidLookupMixin
from crm.phones import InvalidPhone, phone_normalize
from dnc import services
from dnc.filters import DncEntryFilter
from dnc.selectors import (
    dnc_entries_blocking,
    dnc_entry_counts,
    dnc_entry_list,
    dnc_entry_to_dict,
    dnc_list_list,
    dnc_list_to_dict,
)
from dnc.serializers import (
    DncBatchResultSerializer,
    DncCheckQuerySerializer,
    DncCheckSerializer,
    DncEntryInputSerializer,
    DncEntrySerializer,
    DncListSerializer,
)


class DncListViewSet(
    UuidLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin, viewsets.GenericViewSet,
):  # fmt: skip
    """Do-not-call lists: managers and admins manage them, everyone reads."""

    permission_classes = [ReadAllWriteManagers]
    serializer_class = DncListSerializer
    filterset_class = None

    def get_queryset(self):
        return dnc_list_list()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        counts = dnc_entry_counts([x.pk for x in page], now=timezone.now())  # one query
        return self.get_paginated_response([dnc_list_to_dict(x, counts.get(x.pk, 0)) for x in page])

    def _answer(self, dnc_list, code=status.HTTP_200_OK):
        count = dnc_entry_counts([dnc_list.pk], now=timezone.now()).get(dnc_list.pk, 0)
        return Response(dnc_list_to_dict(dnc_list, count), status=code)

    def retrieve(self, request, *args, **kwargs):
        return self._answer(self.get_object())

    def create(self, request, *args, **kwargs):
        serializer = DncListSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.dnc_list_create(actor=request.user, **serializer.validated_data)
        return self._answer(created, status.HTTP_201_CREATED)

    @extend_schema(request=DncListSerializer, responses={200: DncListSerializer})
    def partial_update(self, request, *args, **kwargs):
        serializer = DncListSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        updated = services.dnc_list_update(
            actor=request.user, dnc_list=self.get_object(), **serializer.validated_data
        )
        return self._answer(updated)

    def perform_destroy(self, instance):
        services.dnc_list_delete(actor=self.request.user, dnc_list=instance)


class DncEntryViewSet(
    UuidLookupMixin, mixins.ListModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Numbers on do-not-call lists. POST one entry or an array of up to 5,000."""

    permission_classes = [ReadAllWriteManagers]
    serializer_class = DncEntrySerializer
    filterset_class = DncEntryFilter

    def get_queryset(self):
        return dnc_entry_list()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        now = timezone.now()
        return self.get_paginated_response([dnc_entry_to_dict(e, now=now) for e in page])

    @extend_schema(
        request=DncEntryInputSerializer,  # or an array of them (crm/http/schema.py)
        responses={
            200: DncEntrySerializer,
            201: PolymorphicProxySerializer(
                component_name="DncEntryCreated",
                serializers=[DncEntrySerializer, DncBatchResultSerializer],
                resource_type_field_name=None,
            ),
        },
        description="One entry (201 the entry, or 200 the list's existing entry for that "
        "number), or an array of up to 5,000 (201 {created, existing}; all or nothing).",
    )
    def create(self, request, *args, **kwargs):
        many = isinstance(request.data, list)
        raw = request.data if many else [request.data]
        if len(raw) > services.BATCH_MAX:
            raise PayloadTooLarge(
                f"At most {services.BATCH_MAX} entries in one request; import larger files.",
                details={"limit": services.BATCH_MAX, "size": len(raw)},
            )
        items, errors = [], {}
        for index, item in enumerate(raw):
            serializer = DncEntryInputSerializer(data=item)
            if serializer.is_valid():
                items.append(services.DncEntryInput(**serializer.validated_data))
            else:
                errors[index] = serializer.errors
        if errors:
            if not many:
                raise ValidationError(errors[0])
            raise services.DncBatchInvalid(errors)
        try:
            added = services.dnc_entries_add(actor=request.user, items=items)
        except services.DncBatchInvalid as exc:
            if not many:
                raise services.DncInvalid(exc.errors[0]) from None
            raise
        if many:
            created = sum(1 for _, new in added if new)
            body = {"created": created, "existing": len(added) - created}
            return Response(body, status=status.HTTP_201_CREATED)
        entry, new = added[0]
        body = dnc_entry_to_dict(entry, now=timezone.now())
        return Response(body, status=status.HTTP_201_CREATED if new else status.HTTP_200_OK)

    def perform_destroy(self, instance):
        services.dnc_entry_delete(actor=self.request.user, entry=instance)


class DncCheckView(APIView):
    """Is this number blocked now, and by which entries (one indexed query)."""

    @extend_schema(parameters=[DncCheckQuerySerializer], responses={200: DncCheckSerializer})
    def get(self, request):
        query = DncCheckQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            number = phone_normalize(query.validated_data["phone"])
        except InvalidPhone as exc:
            raise ValidationError({"phone": [str(exc)]}) from None
        entries = [
            {"list": str(e.list_id), "reason": e.reason, "expires_at": e.expires_at}
            for e in dnc_entries_blocking(number, now=timezone.now())
        ]
        body = {"phone_normalized": number, "blocked": bool(entries), "entries": entries}
        return Response(DncCheckSerializer(body).data)
