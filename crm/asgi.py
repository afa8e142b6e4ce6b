"""The ASGI application: the production server (gunicorn crm.asgi:application -k
uvicorn_worker.UvicornWorker) and make run's development server serve it. Its handler is
Django's except that CardDAV paths run the sync middleware chain in one thread call
(crm.http.asgi)."""

import os
import warnings

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
django.setup(set_prefix=False)  # what get_asgi_application() does before making its handler

from crm.http.asgi import CrmASGIHandler  # noqa: E402 - needs the apps loaded

django_application = CrmASGIHandler()

EVENTS_PATHS = ("/api/v1/events", "/api/v1/events/")


async def application(scope, receive, send):
    """Django's ASGI handler, except for one thing. For each request it makes a context whose
    sync code (middleware, views) runs in a thread of its own, and that thread lives until the
    answer has been sent: for an event stream, hours of an idle thread per open stream. Event
    stream requests are handled without that context: their few milliseconds of sync code
    (authentication, registering the stream) run in the process's one shared thread for such
    code, and an open stream holds no thread at all (events/views.py)."""
    if scope["type"] == "http" and scope["path"] in EVENTS_PATHS:
        await django_application.handle(scope, receive, send)
    else:
        await django_application(scope, receive, send)


# WhiteNoise's static files are served through Django's sync-iterator fallback, which reads a
# file whole before sending it: fine for CSS and scripts, and said once per file otherwise.
# The app's own big answers (exports) stream in pieces (crm/http/streaming.py).
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators", category=Warning
)
