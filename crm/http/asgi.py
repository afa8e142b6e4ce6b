"""The ASGI handler: Django's, except that the plain request/response paths a client repeats a
thousand times (CardDAV) are served in one trip to a worker thread.

Under Django's own ASGI handler a request to a sync view crosses between the event loop and a
worker thread once per hop of its middleware: a ``MiddlewareMixin`` middleware (sessions,
common, CSRF, auth, messages, clickjacking) runs its ``process_request``, ``process_view`` and
``process_response`` each through ``sync_to_async``, a sync-only one (the request log,
WhiteNoise) sends the chain back into the loop through ``async_to_sync``, and
``request_started`` and the response's ``close()`` (``request_finished``) are two more; and
every request starts and joins a thread of its own (asgiref's ``ThreadSensitiveContext``). For
a CardDAV multiget of ten cards that cost more than the view and its two queries (bench
scenario 2, DAVx5's full sync: 2,020 requests).

For the paths in SYNC_CHAIN_PREFIXES, ``request_started``, the request, ``settings.MIDDLEWARE``
loaded in sync mode (the chain a WSGI server and Django's test client run: the same middleware
in the same order — security headers, the request log and request id, gzip, CSRF, the error
shape — only without the crossings), the view and ``request_finished`` all run in one call on
a thread of the loop's executor (reused, not one per request). The response is closed (its
``request_finished`` returns the database connection to the pool, on the thread that took it)
before its bytes are sent, which only a non-streaming response allows: a streaming one is
closed after sending, as Django does. Every other path (event streams are coroutines) keeps
Django's handler unchanged.
"""

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.urls import set_script_prefix

# Plain (non-streaming) sync views only: no event stream, no async view.
SYNC_CHAIN_PREFIXES = ("/dav/", "/.well-known/carddav")


class CrmASGIHandler(ASGIHandler):
    def __init__(self):
        super().__init__()
        self._sync_handler = BaseHandler()
        self._sync_handler.load_middleware(is_async=False)

    async def handle(self, scope, receive, send):
        if not scope["path"].startswith(SYNC_CHAIN_PREFIXES):
            return await super().handle(scope, receive, send)
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            response = await sync_to_async(self._respond, thread_sensitive=False)(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=False)()
        finally:
            body_file.close()

    def _respond(self, scope, body_file):
        """request_started, the request through the sync middleware chain and the view, and
        (for a complete response) its close() and request_finished, in this one thread."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self._sync_handler.get_response(request)
        response._handler_class = self.__class__
        if not response.streaming:
            response.close()
        return response
