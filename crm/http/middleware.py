"""Request ids and one structured log line per request."""

import logging
import re
import time
import uuid
import zlib

from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware
from django.utils.cache import patch_vary_headers

from crm.http.clients import client_address

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
                "client": client_address(request),
            },
        )
        return response


class GZipMiddleware(DjangoGZipMiddleware):
    """Gzip for answers of 1 KB or more when the client accepts it (a full sync page shrinks
    about sixfold). BREACH needs a secret repeated in answers that also echo text an attacker
    chose: sign-in and refresh answers carry fresh tokens and are never compressed here; the
    admin's CSRF token is masked anew on every page by Django, and Django's middleware pads
    each compressed answer with random bytes ("Heal the Breach")."""

    min_length = 1024
    never = ("/api/v1/auth/",)

    def process_response(self, request, response):
        if request.path.startswith(self.never):
            return response
        if response.get("Content-Type", "").startswith("text/event-stream"):
            return response  # a compressor would hold each event back until it fills a block
        if response.streaming and "attachment" in response.get("Content-Disposition", ""):
            return _gzip_file(request, response)
        if not response.streaming and len(response.content) < self.min_length:
            return response
        return super().process_response(request, response)


_ACCEPTS_GZIP = re.compile(r"\bgzip\b")


def _gzip_file(request, response):
    """A streamed file (an export of a million rows) compressed at zlib's fastest level:
    Django's level 6 cost some 15 s of CPU on a 172 MB CSV, longer than writing it; level 1
    is several times quicker for a file a little larger. The file carries no secret, so there
    is nothing for BREACH to find."""
    if response.has_header("Content-Encoding"):
        return response
    patch_vary_headers(response, ("Accept-Encoding",))
    if not _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
        return response
    response.streaming_content = _gzipped(response.streaming_content)
    response.headers.pop("Content-Length", None)
    response.headers["Content-Encoding"] = "gzip"
    return response


def _gzipped(chunks):
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: the gzip format
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()
