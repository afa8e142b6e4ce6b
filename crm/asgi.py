"""The ASGI application: the production server (gunicorn crm.asgi:application -k
uvicorn_worker.UvicornWorker) and make run's development server serve it."""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
application = get_asgi_application()

# WhiteNoise's static files are served through Django's sync-iterator fallback, which reads a
# file whole before sending it: fine for CSS and scripts, and said once per file otherwise.
# The app's own big answers (exports) stream in pieces (crm/http/streaming.py).
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators", category=Warning
)
