import contextlib

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from crm.errors import ErrorCode, error_body


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. No database access on purpose."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: the database answers a query (a fresh connection is tried every time)."""
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not ready"
        # Drop the broken connection so the next probe reconnects once the database is back.
        with contextlib.suppress(Exception):
            connection.close()
        return JsonResponse(
            error_body(ErrorCode.SERVICE_UNAVAILABLE, "Database unavailable."), status=503
        )
    return JsonResponse({"status": "ok", "database": "ok"})
