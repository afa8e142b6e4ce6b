import json

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination

from crm.errors import ApiError


def planner_estimate(queryset) -> int | None:
    """PostgreSQL's own row estimate for a queryset (one EXPLAIN, no rows read)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatingPaginator(Paginator):
    """Exact counts, except when the planner expects more rows than EXACT_COUNT_LIMIT: then
    counting would read the whole result (a million contacts: most of a second) to print one
    number, and the estimate is given instead (flagged by the X-Count-Estimated header)."""

    @cached_property
    def count(self):
        estimate = planner_estimate(self.object_list)
        if estimate is not None and estimate > settings.EXACT_COUNT_LIMIT:
            self.count_is_estimate = True
            return estimate
        self.count_is_estimate = False
        return super().count


class PageLimitPagination(PageNumberPagination):
    """The contract's ``?page=N&limit=M`` (limit default 50, max 1000)."""

    page_size = 50
    page_query_param = "page"
    page_size_query_param = "limit"
    max_page_size = 1000
    django_paginator_class = EstimatingPaginator

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if getattr(self.page.paginator, "count_is_estimate", False):
            response["X-Count-Estimated"] = "true"
        return response


class KeysetPagination(CursorPagination):
    """Opaque-cursor paging that stays fast at any depth (no OFFSET): ``?cursor=`` starts it,
    each answer's ``next`` continues it."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 1000
    cursor_query_param = "cursor"

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ApiError(
                code="invalid_cursor", message="This cursor is not valid; start again."
            ) from None


class PageOrKeysetPagination(PageLimitPagination):
    """``?page=&limit=`` as the contract says; ``?cursor=`` (empty to start) switches to keyset
    paging for clients that walk through millions of rows."""

    keyset_ordering: tuple[str, ...] = ("-started_at", "-id")

    def _keyset(self, request):
        return "cursor" in request.query_params

    def paginate_queryset(self, queryset, request, view=None):
        if self._keyset(request):
            self._delegate = KeysetPagination()
            self._delegate.ordering = self.keyset_ordering
            return self._delegate.paginate_queryset(queryset, request, view)
        self._delegate = None
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self._delegate is not None:
            return self._delegate.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        # Keyset pages have no count.
        paginated["required"] = [key for key in paginated.get("required", []) if key != "count"]
        return paginated

    def get_schema_operation_parameters(self, view):
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "Keyset paging: send it empty to start, then follow `next`.",
                "schema": {"type": "string"},
            },
        ]
