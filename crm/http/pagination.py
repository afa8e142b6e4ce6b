import functools
import json
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.core import signing
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import Count, Window
from django.utils.functional import cached_property
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.utils.urls import replace_query_param

from crm.http.errors import ApiError


def planner_estimate(queryset) -> int:
    """PostgreSQL's own row estimate for a queryset (one EXPLAIN, no rows read)."""
    connection = connections[queryset.db]
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:  # .none(), or a filter that can match nothing
        return 0
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class _Remembered:
    """A small per-process LRU of computed numbers, each kept until ``expires`` (or for good)."""

    size = 2048

    def __init__(self):
        self._entries: OrderedDict[tuple, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def remembered(self, key: tuple, compute, *, seconds: float | None = None) -> int:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                self._entries.move_to_end(key)
                return hit[1]
        value = compute()
        expires = now + seconds if seconds is not None else float("inf")
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _Estimates(_Remembered):
    """The planner's estimates of recent list queries, per process, for a few seconds.

    An estimate only picks how a page is counted (see EstimatingPaginator); it is never a
    count itself below EXACT_COUNT_LIMIT. A busy list (the whole contact book, one contact's
    calls) is thus asked about once per COUNT_ESTIMATE_SECONDS, not on every request.
    """

    def get(self, queryset, key: tuple | None = None) -> int:
        """The estimate for ``queryset``, remembered under ``key`` (default: its SQL; a
        request's own description, which costs nothing to build, does as well when the
        queryset follows from it)."""
        if key is None:
            sql, params = queryset.order_by().query.sql_with_params()
            key = (sql, tuple(map(str, params)))
        return self.remembered(
            (queryset.db, *key),
            lambda: planner_estimate(queryset),
            seconds=settings.COUNT_ESTIMATE_SECONDS,
        )


estimates = _Estimates()


class _Counts(_Remembered):
    """Exact counts of recent list queries, per process, each remembered under the version of
    the data it counted (a list's ``count_version``, e.g. the contacts feed's head): while no
    write has taken a new version, the count is still exact, and a page of a mid-sized list
    (20,000 contacts) costs one version lookup instead of a COUNT over every row."""

    def get(self, key: tuple, count) -> int:
        return self.remembered(key, count)


counts = _Counts()

# The largest OFFSET PostgreSQL takes (bigint).
MAX_OFFSET = 2**63 - 1
# The deepest OFFSET a list with keyset paging beside it accepts (PageOrKeysetPagination).
MAX_PAGE_OFFSET = 10_000

# Up to this many expected rows, the page and its total come from one query (a window count:
# the rows are read anyway, e.g. to rank search matches); more, and a separate COUNT is cheaper
# than carrying every row through the page query's joins.
WINDOW_COUNT_ROWS = 1000


class EstimatingPaginator(Paginator):
    """Exact counts, except when the planner expects more rows than EXACT_COUNT_LIMIT: then
    counting would read the whole result (a million contacts: most of a second) to print one
    number, and the estimate is given instead (flagged by the X-Count-Estimated header).

    Small results (one contact's calls, most searches) are counted by the page query itself
    (``COUNT(*) OVER ()``): one query instead of a COUNT and then the page.
    """

    count_is_estimate = False

    def __init__(
        self, *args, small_by_nature: bool = False, estimate_key=None, count_version=None,
        **kwargs,
    ):  # fmt: skip
        super().__init__(*args, **kwargs)
        # () -> a token that changes with every write that may change the list's count, or
        # None (the view's list_count_version): counts are then reused while it stays.
        self.count_version = count_version
        # A list small by nature (one contact's calls) is counted with its page at once,
        # without asking the planner first.
        self.small_by_nature = small_by_nature
        self.estimate_key = estimate_key

    @cached_property
    def _estimate(self) -> int | None:
        if self.small_by_nature or not hasattr(self.object_list, "query"):
            return None
        return estimates.get(self.object_list, self.estimate_key)

    def _huge(self) -> bool:
        estimate = self._estimate
        return estimate is not None and estimate > settings.EXACT_COUNT_LIMIT

    @cached_property
    def count(self):
        if self._huge():
            self.count_is_estimate = True
            return self._estimate
        version = self.count_version() if self.count_version is not None else None
        if version is None or self.estimate_key is None:
            return Paginator.count.func(self)
        key = (self.object_list.db, *self.estimate_key, version)
        return counts.get(key, lambda: Paginator.count.func(self))

    def _counts_with_page(self) -> bool:
        """Whether the page query should carry the total: when the result is small, or when the
        query reads every match anyway because it is ranked by a computed value (search)."""
        query = getattr(self.object_list, "query", None)
        if query is None:
            return False
        estimate = self._estimate
        if estimate is None or estimate <= min(WINDOW_COUNT_ROWS, settings.EXACT_COUNT_LIMIT):
            return True
        ranked = any(
            isinstance(name, str) and name.lstrip("-") in query.annotations
            for name in query.order_by
        )
        return ranked and estimate <= settings.EXACT_COUNT_LIMIT

    def _number(self, number) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        if (number - 1) * self.per_page > MAX_OFFSET:
            # Past the end of any list, and an OFFSET PostgreSQL could not even hold.
            raise EmptyPage("That page contains no results")
        return number

    def validate_number(self, number):
        return super().validate_number(self._number(number))

    def page(self, number):
        if hasattr(self.object_list, "page_and_total"):
            return self._page_of_ranked(self._number(number))
        if "count" in self.__dict__:
            return super().page(number)
        if self._huge():
            return self._page_of_huge(self._number(number))
        if not self._counts_with_page():
            return super().page(number)
        number = self._number(number)
        bottom = (number - 1) * self.per_page
        rows = list(
            self.object_list.annotate(_total=Window(Count("*")))[bottom : bottom + self.per_page]
        )
        if not rows:
            return super().page(number)  # past the end (or empty): count, then the usual answer
        first = rows[0]
        self.__dict__["count"] = first["_total"] if isinstance(first, dict) else first._total
        return self._get_page(rows, number, self)

    def _page_of_ranked(self, number: int):
        """A page of a list that pages and counts itself in one query (a ranked search,
        contacts.search.SearchResults), flagging its count as an estimate past its limit."""
        bottom = (number - 1) * self.per_page
        rows, total, estimated = self.object_list.page_and_total(bottom, self.per_page)
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        self.count_is_estimate = estimated
        self.__dict__["count"] = total
        return self._get_page(rows, number, self)

    def _page_of_huge(self, number: int):
        """A page of a list counted by its estimate. The estimate may be off either way, so the
        page is not cut to it: one row past the page tells whether there is a next one, and
        the count given never contradicts the rows seen (at the end it is exact)."""
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        more = len(rows) > self.per_page
        rows = rows[: self.per_page]
        if more:
            self.count_is_estimate = True
            self.__dict__["count"] = max(self._estimate, bottom + self.per_page + 1)
        else:
            self.__dict__["count"] = bottom + len(rows)  # the end of the list: known exactly
        return self._get_page(rows, number, self)


def limit_of(request, *, param: str, default: int, maximum: int) -> int:
    """``?limit=``: left out or empty is the default, more than the maximum is the maximum,
    anything but a whole number from 1 is a 400 (DRF would quietly use the default)."""
    raw = request.query_params.get(param)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValidationError({param: [f"A whole number from 1 (at most {maximum} are given)."]})
    return min(value, maximum)


class PageLimitPagination(PageNumberPagination):
    """The contract's ``?page=N&limit=M`` (limit default 50, max 1000)."""

    page_size = 50
    page_query_param = "page"
    page_size_query_param = "limit"
    max_page_size = 1000
    django_paginator_class = EstimatingPaginator

    def get_page_size(self, request):
        return limit_of(
            request, param=self.page_size_query_param, default=self.page_size,
            maximum=self.max_page_size,
        )  # fmt: skip

    def paginate_queryset(self, queryset, request, view=None):
        small = getattr(view, "list_is_small_by_nature", None)
        version = getattr(view, "list_count_version", None)
        self.django_paginator_class = functools.partial(
            type(self).django_paginator_class,
            small_by_nature=small is not None and small(request),
            estimate_key=self._estimate_key(request),
            count_version=functools.partial(version, request) if version is not None else None,
        )
        return super().paginate_queryset(queryset, request, view)

    def _estimate_key(self, request) -> tuple:
        """What a list's rows follow from: the path, the filters and who asks (a list's
        queryset is built from nothing else). Paging parameters do not change the rows."""
        user = getattr(request, "user", None)
        paging = {self.page_query_param, self.page_size_query_param, "cursor"}
        filters = tuple(
            sorted((k, tuple(v)) for k, v in request.query_params.lists() if k not in paging)
        )
        return (request.path, filters, getattr(user, "pk", None), getattr(user, "role", None))

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

    def get_page_size(self, request):
        return limit_of(
            request, param=self.page_size_query_param, default=self.page_size,
            maximum=self.max_page_size,
        )  # fmt: skip

    # Cursors are signed: one a client made up (or mangled) is a clean 400, never a position
    # fed to the database, nor quietly taken for "start".
    _SALT = "crm.keyset.v1"

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        if encoded == "":
            return Cursor(offset=0, reverse=False, position=None)  # the first page
        try:
            tokens = signing.loads(encoded, salt=self._SALT)
            offset, reverse, position = (
                int(tokens.get("o", 0)),
                tokens.get("r", False),
                tokens.get("p"),
            )
            if offset < 0 or not isinstance(reverse, bool):
                raise ValueError(offset)
            offset = min(offset, self.offset_cutoff)  # as DRF reads its own cursors
            if position is not None and not isinstance(position, str):
                raise ValueError(position)
        except (signing.BadSignature, AttributeError, TypeError, ValueError):
            raise ApiError(
                code="invalid_cursor", message="This cursor is not valid; start again."
            ) from None
        return Cursor(offset=offset, reverse=reverse, position=position)

    def encode_cursor(self, cursor):
        tokens = {}
        if cursor.offset:
            tokens["o"] = cursor.offset
        if cursor.reverse:
            tokens["r"] = True
        if cursor.position is not None:
            tokens["p"] = cursor.position
        encoded = signing.dumps(tokens, salt=self._SALT, compress=True)
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)


class PageOrKeysetPagination(PageLimitPagination):
    """``?page=&limit=`` as the contract says; ``?cursor=`` (empty to start) switches to keyset
    paging for clients that walk through millions of rows.

    A page whose OFFSET would pass MAX_PAGE_OFFSET rows is refused (400 ``page_too_deep``,
    pointing to ``?cursor=``): PostgreSQL reads and throws away every row before an OFFSET, so
    the last page of 5,000,000 calls took 17 s against 6 ms for page 1; a keyset page costs the
    same at any depth."""

    keyset_ordering: tuple[str, ...] = ("-started_at", "-id")
    max_page_offset = MAX_PAGE_OFFSET

    def _keyset(self, request):
        return "cursor" in request.query_params

    def paginate_queryset(self, queryset, request, view=None):
        if self._keyset(request):
            self._delegate = KeysetPagination()
            self._delegate.ordering = self.keyset_ordering
            return self._delegate.paginate_queryset(queryset, request, view)
        self._delegate = None
        self._refuse_deep_pages(request)
        return super().paginate_queryset(queryset, request, view)

    def _refuse_deep_pages(self, request) -> None:
        try:
            number = int(request.query_params.get(self.page_query_param) or 1)
        except ValueError:
            return  # not a page number: the paginator's 404, as on every list
        limit = self.get_page_size(request)
        if (number - 1) * limit > self.max_page_offset:
            deepest = self.max_page_offset // limit + 1
            raise ApiError(
                code="page_too_deep",
                message=f"Pages of {limit} go up to page {deepest} here; for deeper reads use "
                "keyset paging: ?cursor= (empty to start), then follow `next`.",
                details={self.page_query_param: [f"At most {deepest} with limit={limit}."]},
            )

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
