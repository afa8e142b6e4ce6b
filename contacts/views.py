from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import (
    IsManagerOrAdmin,
    ReadAllWriteAdmins,
    ReadAllWriteManagers,
    ReadOnlyForViewers,
)
from contacts import bulk, custom_fields, lists, scrub, services
from contacts.errors import ContactInvalid
from contacts.filters import ContactFilter, ContactListFilter, ContactSearchFilter
from contacts.models import BulkOperation, ContactField
from contacts.permissions import ContactObjectPermission
from contacts.selectors import (
    EXPORT_HEADER,
    contact_book_rows,
    contact_export_cells,
    contact_export_csv,
    contact_export_rows,
    contact_list,
    contact_row_to_dict,
    contact_rows,
    contact_rows_summed,
    contact_search_page,
    contact_search_text,
    contact_stats,
    contact_to_dict,
    contact_with_calls,
    contacts_with_calls,
    list_contacts,
    list_counts,
    list_list,
    list_row_to_dict,
    list_rows,
    list_to_dict,
)
from contacts.serializers import (
    BulkRequestSerializer,
    BulkResultSerializer,
    ContactCreateSerializer,
    ContactFieldSerializer,
    ContactFieldUpdateSerializer,
    ContactIdsSerializer,
    ContactListSerializer,
    ContactListWriteSerializer,
    ContactLookupSerializer,
    ContactStatsSerializer,
    ContactUpdateSerializer,
    ContactWithCallsSerializer,
    ContactWriteResultSerializer,
    MembersAddedSerializer,
    MembersRemovedSerializer,
    ScrubRequestSerializer,
    ScrubResultSerializer,
)
from contacts.vcards import contacts_vcards
from crm.http.exports import (
    XLSX_TYPE,
    ExportNegotiationMixin,
    ExportQuerySerializer,
    copy_csv_response,
    export_response,
    vcards_response,
)
from crm.http.routers import UUID_PATTERN, UuidLookupMixin
from ledger.selectors import feed_version
from ledger.versioning import CONTACTS


class ContactExportQuerySerializer(ExportQuerySerializer):
    format = serializers.ChoiceField(
        choices=["csv", "xlsx", "vcf"], required=False, default="csv",
        help_text="csv (UTF-8 with a BOM), xlsx, or vcf (vCard 3.0, one card per contact).",
    )  # fmt: skip


class ContactViewSet(
    ExportNegotiationMixin,
    UuidLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [ReadOnlyForViewers, ContactObjectPermission]
    serializer_class = ContactWithCallsSerializer
    filterset_class = ContactListFilter
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        if self.action == "retrieve":
            return contacts_with_calls(contact_list())
        return contact_list()

    # Filters whose answer moves with other feeds than the contacts' (calls, DNC entries).
    _COUNTED_ELSEWHERE = frozenset({"dnc", "has_calls"})

    def list_count_version(self, request) -> int | None:
        """The contacts feed's head: every contact write takes a new version, so a list's
        count is still exact while it stays (crm.http.pagination.counts). None when a filter
        depends on calls or DNC entries, which do not move it."""
        if self._COUNTED_ELSEWHERE.intersection(request.query_params):
            return None
        return feed_version(CONTACTS)

    def list(self, request, *args, **kwargs):
        base = self.get_queryset()
        queryset = self.filter_queryset(base)
        filtered = len(queryset.query.where.children) > len(base.query.where.children)
        if contact_search_text(queryset) is not None:
            # Ranked from the word index, then the page's rows by id (contacts/search.py).
            objects = contact_search_page(queryset, filtered=filtered)
        elif not filtered:
            objects = contact_book_rows(queryset)  # the whole book: its SQL built once
        else:
            # Rows, not model instances: a page of 1,000 renders several times faster.
            objects = contact_rows(queryset)
        page = self.paginate_queryset(objects)
        rows = contact_rows_summed(list(page))  # one more query: calls summed up, DNC flags
        return self.get_paginated_response([contact_row_to_dict(row) for row in rows])

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

    @extend_schema(
        responses={200: ContactWithCallsSerializer(many=True)},
        description="The same as `GET /contacts?search=`: every word of `q` is the start of a "
        "word of the name, the email (split at @ . - _ +) or the company, case and accents "
        "ignored; a word of 3+ digits also matches those digits anywhere in the number. Exact "
        "words first, then by name. Only when fewer than `limit` contacts match, words of 4+ "
        "letters also match similar words (typos), after every prefix match. `count` is exact "
        "up to 10,000 matches, then an estimate (header `X-Count-Estimated: true`).",
    )
    @action(detail=False, methods=["get"], filterset_class=ContactSearchFilter)
    def search(self, request):
        return self.list(request)

    @extend_schema(
        parameters=[ContactExportQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, XLSX_TYPE): OpenApiTypes.BINARY,
            (200, "text/vcard"): OpenApiTypes.BINARY,
        },
        description="The live contacts the list would show with the same filters, as one file "
        "streamed in constant memory (managers and admins). The columns import back.",
    )
    @action(detail=False, methods=["get"], permission_classes=[IsManagerOrAdmin],
            pagination_class=None, filterset_class=ContactFilter)  # fmt: skip
    def export(self, request):
        query = ContactExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        contacts = self.filter_queryset(self.get_queryset())
        if query.validated_data["format"] == "csv":  # written by PostgreSQL (exports.py)
            return copy_csv_response(filename="contacts", header=EXPORT_HEADER,
                                     queryset=contact_export_csv(contacts))  # fmt: skip
        if query.validated_data["format"] == "vcf":
            return vcards_response(filename="contacts", cards=contacts_vcards(
                contact_export_rows(contacts)))  # fmt: skip
        return export_response(
            fmt=query.validated_data["format"], filename="contacts", header=EXPORT_HEADER,
            rows=contact_export_rows(contacts), cells=contact_export_cells(),
        )  # fmt: skip

    @extend_schema(responses={200: ContactStatsSerializer})
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def stats(self, request):
        return Response(contact_stats(now=timezone.now()))

    @extend_schema(request=BulkRequestSerializer, responses={200: BulkResultSerializer})
    @action(
        detail=False, methods=["post"], url_path="bulk", url_name="bulk",
        permission_classes=[IsManagerOrAdmin], filterset_class=None, pagination_class=None,
    )  # fmt: skip
    def bulk(self, request):
        serializer = BulkRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        asked = serializer.validated_data
        operation = bulk.bulk_run(
            actor=request.user,
            action=asked["action"],
            data=asked.get("data"),
            contact_ids=asked.get("contact_ids"),
            criteria=asked.get("filter"),
        )
        return Response(bulk.bulk_answer(operation))

    @extend_schema(request=None, responses={200: BulkResultSerializer})
    @action(
        detail=False, methods=["post"], url_name="bulk-undo",
        url_path=f"bulk/(?P<operation_id>{UUID_PATTERN})/undo",
        permission_classes=[IsManagerOrAdmin], filterset_class=None, pagination_class=None,
    )  # fmt: skip
    def bulk_undo(self, request, operation_id=None):
        operation = get_object_or_404(BulkOperation, pk=operation_id)
        return Response(bulk.bulk_undo(actor=request.user, operation=operation))

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

    permission_classes = [ReadAllWriteAdmins]

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


class ContactListViewSet(
    UuidLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Contact lists: managers and admins manage them and their members; everyone reads."""

    serializer_class = ContactListSerializer
    lookup_value_regex = UUID_PATTERN
    filterset_class = None

    permission_classes = [ReadAllWriteManagers]

    def get_queryset(self):
        return list_list()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(list_rows(self.get_queryset()))
        counts = list_counts([row["id"] for row in page])  # one query for the page
        return self.get_paginated_response(
            [{**list_row_to_dict(row), "contact_count": counts.get(row["id"], 0)} for row in page]
        )

    def retrieve(self, request, *args, **kwargs):
        return Response(list_to_dict(self.get_object()))

    @extend_schema(request=ContactListWriteSerializer, responses={201: ContactListSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ContactListWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = lists.list_create(actor=request.user, **serializer.validated_data)
        return Response(list_to_dict(created, contact_count=0), status=status.HTTP_201_CREATED)

    @extend_schema(request=ContactListWriteSerializer, responses={200: ContactListSerializer})
    def partial_update(self, request, *args, **kwargs):
        serializer = ContactListWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        updated = lists.list_update(
            actor=request.user, contact_list=self.get_object(), **serializer.validated_data
        )
        return Response(list_to_dict(updated))

    def perform_destroy(self, instance):
        lists.list_delete(actor=self.request.user, contact_list=instance)

    @extend_schema(methods=["get"], responses={200: ContactWithCallsSerializer(many=True)})
    @extend_schema(
        methods=["post"], request=ContactIdsSerializer, responses={200: MembersAddedSerializer}
    )
    @action(detail=True, methods=["get", "post"], url_path="contacts", url_name="contacts")
    def contacts(self, request, pk=None):
        contact_list = self.get_object()
        if request.method == "POST":
            ids = ContactIdsSerializer(data=request.data)
            ids.is_valid(raise_exception=True)
            answer = lists.list_members_add(
                actor=request.user,
                contact_list=contact_list,
                contact_ids=ids.validated_data["contact_ids"],
            )
            return Response(answer)
        page = self.paginate_queryset(contact_rows(list_contacts(contact_list.pk)))
        rows = contact_rows_summed(list(page))
        return self.get_paginated_response([contact_row_to_dict(row) for row in rows])

    @extend_schema(request=ContactIdsSerializer, responses={200: MembersRemovedSerializer})
    @action(detail=True, methods=["post"], url_path="contacts/remove", url_name="contacts-remove")
    def contacts_remove(self, request, pk=None):
        ids = ContactIdsSerializer(data=request.data)
        ids.is_valid(raise_exception=True)
        answer = lists.list_members_remove(
            actor=request.user,
            contact_list=self.get_object(),
            contact_ids=ids.validated_data["contact_ids"],
        )
        return Response(answer)


class DncScrubView(APIView):
    """POST /dnc/scrub: contact lists against the DNC lists, computed in the request. Anyone
    may count; keeping the clean contacts as a new list takes a manager or an admin."""

    @extend_schema(request=ScrubRequestSerializer, responses={200: ScrubResultSerializer})
    def post(self, request):
        serializer = ScrubRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        asked = serializer.validated_data
        if "clean_list_name" in asked and not request.user.is_manager_or_admin:
            raise PermissionDenied("Only managers and administrators may create lists.")
        return Response(scrub.contacts_scrub(actor=request.user, **asked))
