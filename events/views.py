"""GET /api/v1/events: a Server-Sent Events stream of data-less pokes.

The request side is an ordinary API view (JWT authentication, the error shape, the schema);
the answer is an asynchronous stream that the ASGI server serves from its event loop, so an
open stream holds no thread and no database connection, only a little memory (the hub's
``Subscriber``). What the stream says, and when it ends, is in docs/SYNC.md.
"""

import asyncio
import json
import time

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.devices import DEVICE_CLAIM
from crm.http.errors import ApiError, ErrorCode
from events.errors import TooManyStreams
from events.hub import Hub, HubUnavailable, Subscriber, hub_get
from events.push import vapid_public_key
from ledger.versioning import FEEDS
from syncaudit.selectors import device_signed_in

EVENT_STREAM = "text/event-stream"


class EventStreamRenderer(BaseRenderer):
    """Lets a client ask for ``text/event-stream``; errors are still answered in JSON."""

    media_type = EVENT_STREAM
    format = "event-stream"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


class EventsView(APIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]
    http_method_names = ["get", "options"]  # not HEAD: it would hold a stream for nothing

    @extend_schema(
        operation_id="events_stream",
        description="A Server-Sent Events stream of pokes: `event: contacts|calls|lists|dnc` "
        'with `data: {"version": N}` after such a change commits, and `event: import` with '
        '`data: {"id", "status", "progress"}` for the caller\'s own import jobs; a comment '
        "line at least every 15 s. Each event's `id` holds the feeds' versions; send it back "
        "as `Last-Event-ID` when reconnecting and every feed that moved meanwhile is poked "
        "at once. The stream ends when the access token expires, the phone is signed out or "
        "the server restarts: reconnect (with a fresh token). Pokes carry no data: pull the "
        "feed as usual.",
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The `id` of the last event received, e.g. "
                "`contacts=12,calls=40,lists=3,dnc=7`.",
            )
        ],
        responses={
            (200, EVENT_STREAM): OpenApiResponse(OpenApiTypes.STR, description="The stream."),
        },
    )
    def get(self, request):
        if not isinstance(request._request, ASGIRequest):
            raise ApiError(
                code=ErrorCode.SERVICE_UNAVAILABLE,
                message="Event streams are served by the ASGI server "
                "(gunicorn crm.asgi:application -k uvicorn_worker.UvicornWorker).",
                status_code=503,
            )
        device_id = request.auth.get(DEVICE_CLAIM)
        expires_at = float(request.auth["exp"])
        last_seen = _last_event_id(request.headers.get("Last-Event-ID"))
        _release_connections()
        try:
            hub, subscriber = async_to_sync(_open)(str(request.user.pk), device_id)
        except HubUnavailable as exc:
            raise ApiError(
                code=ErrorCode.SERVICE_UNAVAILABLE, message=str(exc), status_code=503
            ) from exc
        if subscriber is None:
            raise TooManyStreams()
        # Checked once the stream is registered: a sign-out committed from now on reaches it.
        if device_id is not None and not device_signed_in(device_id=device_id, user=request.user):
            hub.loop.call_soon_threadsafe(hub.close, subscriber)
            raise ApiError(
                code=ErrorCode.AUTHENTICATION_FAILED,
                message="This phone was signed out; sign in again.",
                status_code=401,
            )
        _release_connections()
        response = StreamingHttpResponse(
            _events(hub, subscriber, last_seen, expires_at), content_type=EVENT_STREAM
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):  # an error: always JSON
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


def _release_connections() -> None:
    """The stream keeps no database connection: give this request's back to the pool (not
    inside a transaction: a test's, or ATOMIC_REQUESTS)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


async def _open(user_id: str, device_id: str | None) -> tuple[Hub, Subscriber | None]:
    hub = hub_get()
    return hub, await hub.open(user_id=user_id, device_id=device_id)


def _last_event_id(raw: str | None) -> dict[str, int] | None:
    """``contacts=12,calls=40`` -> {"contacts": 12, "calls": 40}; None without the header.
    Anything unreadable reads as "seen nothing": every feed is poked, which costs a pull."""
    if raw is None:
        return None
    seen = {}
    for part in raw.split(","):
        feed, _, version = part.strip().partition("=")
        if feed in FEEDS and version.isdigit() and len(version) < 19:
            seen[feed] = int(version)
    return seen


def _event(told: dict[str, int], name: str, data: dict) -> bytes:
    heads = ",".join(f"{feed}={told[feed]}" for feed in FEEDS if feed in told)
    return f"id: {heads}\nevent: {name}\ndata: {json.dumps(data)}\n\n".encode()


async def _events(hub: Hub, subscriber: Subscriber, last_seen, expires_at: float):
    """The stream. Each event's ``id`` says which versions this stream has told the client
    about (not what the server knows: a reconnect with it is poked for the rest)."""
    subscriber.started = True
    limit = settings.EVENTS_MAX_STREAM_SECONDS
    ends_at = min(expires_at, time.time() + limit) if limit else expires_at
    if last_seen is None:
        told = dict(hub.heads)  # the client pulls when a stream opens (docs/SYNC.md §16)
    else:
        told = dict(last_seen)
        for feed, version in hub.heads.items():
            # Only what moved past the client (a lower head is this node's listener lagging
            # behind another's: the poke comes when it catches up).
            if version > last_seen.get(feed, -1):
                subscriber.poke(feed, version)
    try:
        yield b"retry: 3000\n: stream open\n\n"
        while True:
            if subscriber.closed:
                yield b": stream closed (sign-out or server restart); reconnect\n\n"
                return
            left = ends_at - time.time()
            if left <= 0:
                yield b": token expired; reconnect with a fresh access token\n\n"
                return
            if subscriber.pending or subscriber.imports:
                pending, subscriber.pending = subscriber.pending, {}
                imports, subscriber.imports = subscriber.imports, {}
                chunk = []
                for feed, version in pending.items():
                    told[feed] = version
                    chunk.append(_event(told, feed, {"version": version}))
                chunk += [_event(told, "import", job) for job in imports.values()]
                yield b"".join(chunk)
                continue
            subscriber.bell.clear()
            try:
                await asyncio.wait_for(
                    subscriber.bell.wait(), min(settings.EVENTS_HEARTBEAT_SECONDS, left)
                )
            except TimeoutError:
                if ends_at - time.time() > 0:
                    yield b": ping\n\n"
    finally:
        hub.close(subscriber)


class PushKeyView(APIView):
    @extend_schema(
        operation_id="devices_push_key",
        description="The server's VAPID public key (the application server key a phone's "
        "push distributor asks for), base64url of the uncompressed P-256 point.",
        responses={200: {"type": "object", "properties": {"public_key": {"type": "string"}}}},
    )
    def get(self, request):
        return Response({"public_key": vapid_public_key()})
