"""The test suite's requests go through Django's ASGI path, as production's do.

Production serves the app with an ASGI server (gunicorn with uvicorn workers), where Django
runs the middleware chain in async mode, the views in threads, and streams answers from the
event loop. Django's test client and schemathesis' WSGI transport would take the WSGI path
instead. The bridge here takes what they build (a WSGI environ) and runs it through the same
async handler the ASGI server calls, in the test's own thread for sync code (so the test's
database transaction is the one the view sees); the paths crm.http.asgi serves through the
sync middleware chain in one thread call (CardDAV) take that chain here too. The root conftest
installs it for every APIClient and Django test client; ``asgi_wsgi_app`` is the same for
schemathesis.
"""

import sys
from urllib.parse import quote

from asgiref.sync import async_to_sync, sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import LimitedStream
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http.response import HttpResponseBase
from django.test.client import closing_iterator_wrapper, conditional_content_removal
from rest_framework.test import ForceAuthClientHandler

from crm.http.asgi import SYNC_CHAIN_PREFIXES


def _scope(environ: dict) -> dict:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        if value == "" and key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            continue
        headers.append(
            (name.replace("_", "-").lower().encode("latin-1"), str(value).encode("latin-1"))
        )
    raw = environ.get("PATH_INFO", "/").encode("latin-1")  # WSGI's bytes-as-latin-1
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": environ["REQUEST_METHOD"].upper(),
        "scheme": environ.get("wsgi.url_scheme", "http"),
        "path": raw.decode("utf-8", "replace"),
        "raw_path": quote(raw, safe="/:@!$&'()*+,;=~").encode("ascii"),
        "root_path": environ.get("SCRIPT_NAME", ""),
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "client": (environ.get("REMOTE_ADDR", "127.0.0.1"), 50000),
        "server": (environ.get("SERVER_NAME", "testserver"), int(environ.get("SERVER_PORT") or 80)),
    }


class _AsgiHandler(BaseHandler):
    """Django's async request path (the one ASGIHandler takes), for one environ at a time."""

    def __init__(self, enforce_csrf_checks: bool = True):
        super().__init__()
        self.enforce_csrf_checks = enforce_csrf_checks
        self.force_user = None
        self.force_token = None
        self._sync_chain = None

    def respond(self, environ: dict) -> HttpResponseBase:
        return async_to_sync(self._respond)(environ)

    async def _respond(self, environ: dict) -> HttpResponseBase:
        if self._middleware_chain is None:
            self.load_middleware(is_async=True)
        scope = _scope(environ)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = LimitedStream(environ["wsgi.input"], length)
        request_started.disconnect(close_old_connections)
        await request_started.asend(sender=self.__class__, scope=scope)
        request_started.connect(close_old_connections)
        request = ASGIRequest(scope, body)
        request._dont_enforce_csrf_checks = not self.enforce_csrf_checks
        if self.force_user is not None or self.force_token is not None:
            from rest_framework.test import force_authenticate

            force_authenticate(request, self.force_user, self.force_token)
        if scope["path"].startswith(SYNC_CHAIN_PREFIXES):
            # crm.http.asgi serves these paths through the sync chain in one thread call.
            if self._sync_chain is None:
                self._sync_chain = BaseHandler()
                self._sync_chain.load_middleware(is_async=False)
            response = await sync_to_async(self._sync_chain.get_response)(request)
        else:
            response = await self.get_response_async(request)
        conditional_content_removal(request, response)
        response.asgi_request = response.wsgi_request = request
        if response.streaming and response.is_async:
            # Read it here, in the loop it belongs to (an event stream ends by itself in
            # tests: EVENTS_MAX_STREAM_SECONDS); the test gets its bytes as a plain iterator.
            chunks = [chunk async for chunk in response]
            response.streaming_content = iter(chunks)
        if response.streaming:
            response.streaming_content = closing_iterator_wrapper(
                response.streaming_content, response.close
            )
        else:
            request_finished.disconnect(close_old_connections)
            response.close()  # fires request_finished, as a server does once it has sent
            request_finished.connect(close_old_connections)
        return response


class AsgiClientHandler(ForceAuthClientHandler):
    """Stands in for DRF's (and Django's) test client handler."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._asgi = _AsgiHandler(self.enforce_csrf_checks)

    def __call__(self, environ):
        self._asgi.force_user, self._asgi.force_token = self._force_user, self._force_token
        return self._asgi.respond(environ)


def asgi_wsgi_app():
    """A WSGI callable over the ASGI path, for tools that speak WSGI (schemathesis)."""
    handler = _AsgiHandler(enforce_csrf_checks=False)

    def app(environ, start_response):
        response = handler.respond(environ)
        status = f"{response.status_code} {response.reason_phrase}"
        headers = [
            *response.items(),
            *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
        ]
        start_response(status, headers, sys.exc_info() if response.status_code >= 500 else None)
        if response.streaming:
            return response.streaming_content
        return [response.content]

    return app
