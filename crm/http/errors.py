"""The API's single error shape.

Every error under /api/ answers
``{"error": {"code": ..., "message": ..., "details": {...}}}`` whatever raised it: DRF
exceptions (validation, auth, permission, throttling, 404, 405, 415), Django's own 404/500
outside the views, and oversized bodies (413).
"""

import logging
from enum import StrEnum
from http import HTTPStatus

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "validation_error"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"
    THROTTLED = "throttled"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    PARSE_ERROR = "parse_error"
    SERVER_ERROR = "server_error"
    SERVICE_UNAVAILABLE = "service_unavailable"


class ApiError(exceptions.APIException):
    """A domain error with its own code, status and details (e.g. 409 duplicate_phone)."""

    def __init__(self, *, code: str, message: str, status_code: int = 400, details=None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.details = details or {}


class FieldsInvalid(ApiError):
    """Field errors of one input (400 validation_error): ``details`` is
    ``{"field": ["msg", ...]}``, and the message names the first of them."""

    def __init__(self, errors: dict[str, list[str]]):
        field, messages = next(iter(errors.items()))
        super().__init__(
            code="validation_error",
            message=f"Invalid input: {field}: {messages[0]}",
            details=errors,
        )
        self.errors = errors


class PayloadTooLarge(ApiError):
    def __init__(self, message: str = "Request body is too large.", details=None):
        super().__init__(
            code=ErrorCode.PAYLOAD_TOO_LARGE, message=message, status_code=413, details=details
        )


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": str(code), "message": message, "details": details or {}}}


def _flatten_message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _flatten_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        inner = _flatten_message(value)
        return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
    return str(detail)


def _as_details(detail):
    """DRF's ErrorDetail tree -> plain JSON: {"field": ["msg", ...]}."""
    if isinstance(detail, dict):
        return {str(k): _as_details(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_as_details(v) for v in detail]
    return str(detail)


_CODE_FOR = {
    exceptions.ValidationError: ErrorCode.VALIDATION_ERROR,
    exceptions.ParseError: ErrorCode.PARSE_ERROR,
    exceptions.NotAuthenticated: ErrorCode.NOT_AUTHENTICATED,
    exceptions.AuthenticationFailed: ErrorCode.AUTHENTICATION_FAILED,
    exceptions.PermissionDenied: ErrorCode.PERMISSION_DENIED,
    exceptions.NotFound: ErrorCode.NOT_FOUND,
    exceptions.MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    exceptions.UnsupportedMediaType: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    exceptions.NotAcceptable: ErrorCode.NOT_ACCEPTABLE,
    exceptions.Throttled: ErrorCode.THROTTLED,
}


def error_code_for(exc: exceptions.APIException) -> str:
    if isinstance(exc, ApiError):
        return str(exc.error_code)
    return str(
        next((c for cls, c in _CODE_FOR.items() if isinstance(exc, cls)), ErrorCode.SERVER_ERROR)
    )


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None and isinstance(exc, OperationalError | InterfaceError):
        # The database went away mid-request (restart, failover, killed connection). Nothing
        # was committed; the client may retry the same request safely.
        logger.warning("Database unavailable during request: %s", exc)
        response = Response(
            error_body(
                ErrorCode.SERVICE_UNAVAILABLE,
                "The database is unavailable; retry shortly (retrying this request is safe).",
            ),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
        return response
    if response is None:
        # Unexpected: log with traceback, answer without one.
        logger.exception("Unhandled error in API view", exc_info=exc)
        return Response(
            error_body(ErrorCode.SERVER_ERROR, "Internal server error."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    code = error_code_for(exc)
    if isinstance(exc, ApiError):
        message, details = str(exc.detail), exc.details
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        if isinstance(exc, exceptions.ValidationError):
            details = _as_details(detail)
            if isinstance(details, list):
                details = {"non_field_errors": details}
            message = "Invalid input: " + _flatten_message(detail)
        else:
            details = {}
            message = _flatten_message(detail)
            if isinstance(detail, dict) and "messages" in detail:  # simplejwt's token errors
                message = _flatten_message(detail.get("detail", detail))
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            details = {"retry_after_seconds": int(exc.wait)}
    response.data = error_body(code, message, details)
    return response


# --- Errors raised outside DRF views (URL not found, crashes in middleware) ---------------


def _json_error(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return _json_error(HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, "Not found.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return _json_error(
            HTTPStatus.INTERNAL_SERVER_ERROR, ErrorCode.SERVER_ERROR, "Internal server error."
        )
    from django.views.defaults import server_error

    return server_error(request)


def handler400(request, exception=None):
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            return _json_error(413, ErrorCode.PAYLOAD_TOO_LARGE, "Request body is too large.")
        return _json_error(HTTPStatus.BAD_REQUEST, ErrorCode.VALIDATION_ERROR, "Bad request.")
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler403(request, exception=None):
    if request.path.startswith("/api/"):
        return _json_error(HTTPStatus.FORBIDDEN, ErrorCode.PERMISSION_DENIED, "Forbidden.")
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)
