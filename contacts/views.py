from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response

from accounts.permissions import IsAdminRole, ReadOnlyForViewers
from contacts import custom_fields, services
from contacts.errors import ContactInvalid
from contacts.filters import ContactFilter, ContactSearchFilter
from contacts.models import ContactField
from contacts.permissions import ContactObjectPermission
from contacts.selectors import (
    contact_list,
    contact_row_to_dict,
    contact_rows,
    contact_rows_summed,
    contact_to_dict,
    contact_with_calls,
    contacts_with_calls,
)
from contacts.serializers import (
    ContactCreateSerializer,
    ContactFieldSerializer,
    ContactFieldUpdateSerializer,
    ContactLookupSerializer,
    ContactUpdateSerializer,
    ContactWithCallsSerializer,
    ContactWriteResultSerializer,
)
from crm.http.routers import UUID_PATTERN


class ContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [ReadOnlyForViewers, ContactObjectPermission]
    serializer_class = ContactWithCallsSerializer
    filterset_class = ContactFilter
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        if self.action == "retrieve":
            return contacts_with_calls(contact_list())
        return contact_list()

    def list(self, request, *args, **kwargs):
        # Rows, not model instances: a page of 1,000 renders several times faster.
        page = self.paginate_queryset(contact_rows(self.filter_queryset(self.get_queryset())))
        rows = contact_rows_summed(list(page))  # one more query: the page's calls summed up
        return self.get_paginated_response([contact_row_to_dict(row) for row in rows])

    def get_object(self):
        # A non-UUID id is simply "not found", never a database error.
        try:
            return super().get_object()
        except (ValueError, DjangoValidationError) as exc:
            raise Http404 from exc

    @extend_schema(
        request=ContactCreateSerializer,
        responses={200: ContactWriteResultSerializer, 201: ContactWriteResultSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = ContactCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = services.contact_create(
            actor=request.user, item=services.ContactInput(**serializer.validated_data)
        )
        body = {**contact_to_dict(contact_with_calls(outcome.contact.pk)), "result": outcome.result}
        created = outcome.result == services.Result.CREATED
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _update(self, request, partial: bool):
        contact = self.get_object()
        serializer = ContactUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        outcome = services.contact_update(
            actor=request.user, contact=contact, **serializer.validated_data
        )
        return Response(contact_to_dict(contact_with_calls(outcome.contact.pk)))

    @extend_schema(request=ContactUpdateSerializer, responses={200: ContactWithCallsSerializer})
    def update(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    @extend_schema(request=ContactUpdateSerializer, responses={200: ContactWithCallsSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    def perform_destroy(self, instance):
        services.contact_delete(actor=self.request.user, contact=instance)

    @extend_schema(responses={200: ContactWithCallsSerializer(many=True)})
    @action(detail=False, methods=["get"], filterset_class=ContactSearchFilter)
    def search(self, request):
        return self.list(request)

    @extend_schema(
        parameters=[ContactLookupSerializer],
        responses={200: ContactWithCallsSerializer},
        description="Caller ID: the live contact holding this number (any format), or 404.",
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def lookup(self, request):
        query = ContactLookupSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        number = query.validated_data["phone"]
        # One query, on the live-number unique index (with the calls' subqueries).
        contact = contacts_with_calls(contact_list()).filter(phone_normalized=number).first()
        if contact is None:
            raise Http404
        return Response(contact_to_dict(contact))


class ContactFieldViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Custom field definitions: everyone reads them (a form needs them); admins define."""

    serializer_class = ContactFieldSerializer
    lookup_field = "key"
    lookup_value_regex = "[a-z][a-z0-9_]{0,49}"
    filterset_class = None

    def get_permissions(self):
        if self.request.method in SAFE_METHODS:
            return [IsAuthenticated()]
        return [IsAdminRole()]

    def get_queryset(self):
        return ContactField.objects.order_by("key")

    def create(self, request, *args, **kwargs):
        serializer = ContactFieldSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        field = custom_fields.custom_field_create(actor=request.user, **serializer.validated_data)
        return Response(ContactFieldSerializer(field).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ContactFieldUpdateSerializer, responses={200: ContactFieldSerializer})
    def partial_update(self, request, *args, **kwargs):
        field = self.get_object()
        serializer = ContactFieldUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        edits = dict(serializer.validated_data)
        immutable = {
            name: ["Cannot be changed."]
            for name in ("key", "type")
            if name in edits and edits.pop(name) != getattr(field, name)
        }
        if immutable:
            raise ContactInvalid(immutable)
        field = custom_fields.custom_field_update(actor=request.user, field=field, **edits)
        return Response(ContactFieldSerializer(field).data)

    def perform_destroy(self, instance):
        custom_fields.custom_field_deactivate(actor=self.request.user, field=instance)
