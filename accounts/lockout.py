"""Account lockout with django-axes: after repeated failures one account is locked *from one
address* for a cool-off period. Others in the same office (same address) and the same person
from another network keep working; the state is in the database, so every worker agrees."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from crm.http.errors import error_body


def axes_username(request, credentials: dict | None) -> str:
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username") or ""
    return str(value).strip().lower()[:254]


def lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    message = (
        "Too many failed sign-ins for this account from this address; "
        f"try again in {lockout_seconds() // 60} minutes."
    )
    if request.path.startswith("/api/"):
        response = JsonResponse(
            error_body("locked_out", message, {"retry_after_seconds": lockout_seconds()}),
            status=429,
        )
    else:
        response = HttpResponse(f"<h1>Locked out</h1><p>{message}</p>", status=429)
    response["Retry-After"] = str(lockout_seconds())
    return response
