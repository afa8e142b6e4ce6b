import contextlib

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from crm.db.durability import durability_problems, durability_settings
from crm.http.errors import ErrorCode, error_body, handler404


def home(request):
    """A landing page for people who open the server's address: where to go from here."""
    return render(request, "home.html")


@csrf_exempt  # any method; a 404 changes nothing, and a CSRF page would leave the error shape
def api_not_found(request, *args, **kwargs):
    return handler404(request)


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. No database access on purpose."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: the database answers (a broken connection is replaced on the next probe),
    and, in production, runs with the durability settings we rely on."""
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        durability = durability_settings()
    except Exception:  # any database failure means "not ready"
        # Drop the broken connection so the next probe reconnects once the database is back.
        with contextlib.suppress(Exception):
            connection.close()
        return JsonResponse(
            error_body(ErrorCode.SERVICE_UNAVAILABLE, "Database unavailable."), status=503
        )
    problems = durability_problems(durability)
    body = {"status": "ok", "database": "ok", "durability": durability}
    if problems and settings.REQUIRE_DURABLE_DATABASE:
        message = "Database is not durable: " + ", ".join(problems)
        return JsonResponse(
            error_body(ErrorCode.SERVICE_UNAVAILABLE, message, {"durability": durability}),
            status=503,
        )
    return JsonResponse(body)
