"""Request ids and one structured log line per request."""

import logging
import re
import time
import uuid

logger = logging.getLogger("crm.request")

_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestLogMiddleware:
    """Takes ``X-Request-ID`` from the proxy (or makes one), echoes it in the response and logs
    method, path, status, duration, user id and request id. Never logs bodies, query strings
    or headers, so passwords and tokens cannot leak into logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        started = time.monotonic()
        response = self.get_response(request)
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        response["X-Request-ID"] = request_id
        user = getattr(request, "user", None)
        user_id = (
            str(user.pk) if user is not None and getattr(user, "is_authenticated", False) else None
        )
        logger.info(
            "%s %s %s %sms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": user_id,
            },
        )
        return response
