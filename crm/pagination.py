from rest_framework.pagination import PageNumberPagination


class PageLimitPagination(PageNumberPagination):
    """The contract's ``?page=N&limit=M`` (limit default 50, max 1000)."""

    page_size = 50
    page_query_param = "page"
    page_size_query_param = "limit"
    max_page_size = 1000
