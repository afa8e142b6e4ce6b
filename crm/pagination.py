from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination

from crm.errors import ApiError


class PageLimitPagination(PageNumberPagination):
    """The contract's ``?page=N&limit=M`` (limit default 50, max 1000)."""

    page_size = 50
    page_query_param = "page"
    page_size_query_param = "limit"
    max_page_size = 1000


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
