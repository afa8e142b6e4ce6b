"""Settings for the contacts & call-log sync CRM.

One file, driven by environment variables (see README, "Configuration"). Development defaults
are safe to run on a laptop; production behaviour is switched on by DJANGO_DEBUG=false, never by
a second settings module.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from crm.db.embedded import dev_database_url
from crm.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    # Development only: a fixed, obviously unsafe key so sessions survive restarts.
    SECRET_KEY = "dev-insecure-key-do-not-use-in-production-0123456789abcdefghijklmnop"  # noqa: S105

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "axes",
    "crm",
    "ledger",
    "accounts",
    "dnc",
    "contacts",
    "calls",
    "syncaudit",
    "procrastinate.contrib.django",
    "jobs",
    "events",
    "dashboard",
    "carddav",
]

MIDDLEWARE = [
    "crm.http.middleware.RequestLogMiddleware",
    "crm.http.middleware.GZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# django-axes checks the lockout before any password is hashed (accounts/lockout.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_LOCKOUT_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "crm.http.clients.client_address"

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: PostgreSQL everywhere. Without DATABASE_URL, development uses the embedded cluster
# that `make run` starts (crm/db/embedded.py); production must name its server.
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    if not DEBUG:
        raise ImproperlyConfigured("DATABASE_URL must be set when DJANGO_DEBUG is off")
    DATABASE_URL = dev_database_url()
# A pool of connections per process (psycopg_pool through Django): the ASGI server runs each
# request's sync code in a thread of its own, so thread-local persistent connections would be
# opened anew for every request. DATABASE_POOL_MAX_SIZE=0 switches back to persistent
# connections (DATABASE_CONN_MAX_AGE) for a WSGI server.
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 10)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=0 if DATABASE_POOL_MAX_SIZE else env_int("DATABASE_CONN_MAX_AGE", 60),
        # With the pool, Django has it check a connection before handing it out: after a
        # database restart the dead ones are replaced, not given to requests.
        conn_health_checks=True,
    )
}
if DATABASE_POOL_MAX_SIZE:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
    }
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL server (postgres://...)")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The cache holds login throttling counters. It lives in the database so that every gunicorn
# worker sees the same counts (a per-process memory cache would multiply the allowance).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "crm_cache",
    }
}

# The admin import keeps the uploaded file between preview and confirm. In the shared database
# cache, the confirm step works on whichever worker or host it lands.
IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.CacheStorage"

LANGUAGE_CODE = "en-us"
# The back office shows times in this zone (e.g. "Europe/Madrid"); the API always answers in
# UTC, and the database keeps UTC.
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploaded import files (jobs/models.py): kept on this disk by default, in MEDIA_ROOT (never
# served as is: the API hands out each job's errors file itself). Any Django storage works,
# e.g. S3 through django-storages: set DJANGO_DEFAULT_STORAGE to its backend's dotted path.
# With several machines running workers, they must share it (a network folder or S3).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES["default"]["BACKEND"] = env_str(
    "DJANGO_DEFAULT_STORAGE", "django.core.files.storage.FileSystemStorage"
)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 100 * 1024 * 1024)
# The admin's import: a file with more rows than this becomes a job with a progress page;
# smaller files keep the instant preview and confirm.
ADMIN_IMPORT_JOB_ROWS = env_int("ADMIN_IMPORT_JOB_ROWS", 5000)

# Uploads: a batch of 5,000 calls is about 1.5 MB of JSON; leave headroom, refuse the rest (413).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20_000

# --- Security (production when DEBUG is off) ---------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many reverse proxies stand in front of the app and append to X-Forwarded-For (see
# crm/http/clients.py). 0: the header is ignored, the client is the socket's address.
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Production refuses to be "ready" on a PostgreSQL that runs without fsync/synchronous_commit.
REQUIRE_DURABLE_DATABASE = env_bool("REQUIRE_DURABLE_DATABASE", not DEBUG)

# --- Domain settings -----------------------------------------------------------------------
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "US").upper()
# How far in the future a client-supplied timestamp may be (phones' clocks drift).
CLOCK_SKEW_TOLERANCE = timedelta(seconds=env_int("CLOCK_SKEW_SECONDS", 300))
CALLS_MAX_BATCH = 5000
# Lists whose planner estimate exceeds this report the estimate as their count (exact below).
EXACT_COUNT_LIMIT = env_int("EXACT_COUNT_LIMIT", 100_000)
# A search's count is exact up to this many matches; above, it is flagged as an estimate.
SEARCH_EXACT_COUNT_LIMIT = env_int("SEARCH_EXACT_COUNT_LIMIT", 10_000)
# How long a worker reuses the planner's estimate of a list query (it only picks how to count).
COUNT_ESTIMATE_SECONDS = env_int("COUNT_ESTIMATE_SECONDS", 30)
SYNC_TOMBSTONE_HORIZON_DAYS = env_int("SYNC_TOMBSTONE_HORIZON_DAYS", 90)

# --- Real time (events/) ---------------------------------------------------------------------
# A comment line on every open event stream this often (proxies drop silent connections).
EVENTS_HEARTBEAT_SECONDS = env_int("EVENTS_HEARTBEAT_SECONDS", 15)
# Open event streams one user may hold at once, across every app node.
EVENTS_MAX_STREAMS_PER_USER = env_int("EVENTS_MAX_STREAMS_PER_USER", 5)
# A stream also ends after this long (0: only when its access token expires).
EVENTS_MAX_STREAM_SECONDS = env_int("EVENTS_MAX_STREAM_SECONDS", 0)
# Web Push (VAPID): the server's key, a P-256 private key in PEM or as base64url of its 32
# bytes. Unset: one derived from DJANGO_SECRET_KEY (stable across restarts and nodes).
WEBPUSH_VAPID_PRIVATE_KEY = env_str("WEBPUSH_VAPID_PRIVATE_KEY")
WEBPUSH_VAPID_SUBJECT = env_str("WEBPUSH_VAPID_SUBJECT", "mailto:admin@localhost")
# At most one push message per device this often; changes in between are coalesced.
WEBPUSH_COALESCE_SECONDS = env_int("WEBPUSH_COALESCE_SECONDS", 10)
# Push endpoints on loopback or private networks (a distributor on the team's LAN); link-local
# and other special addresses are always refused (crm/outbound.py).
WEBPUSH_ALLOW_PRIVATE_NETWORKS = env_bool("WEBPUSH_ALLOW_PRIVATE_NETWORKS", True)
# Phones of one user that may have a Web Push endpoint.
WEBPUSH_MAX_ENDPOINTS_PER_USER = env_int("WEBPUSH_MAX_ENDPOINTS_PER_USER", 10)

# --- REST framework ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["crm.http.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["crm.http.filters.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "crm.http.pagination.PageLimitPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "crm.http.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": env_str("LOGIN_RATE_PER_ADDRESS", "30/min"),
        "login_email": env_str("LOGIN_RATE_PER_EMAIL", "5/min"),
        "login_email_ceiling": env_str("LOGIN_RATE_PER_EMAIL_CEILING", "100/hour"),
    },
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Tokens carry a hash of the password: a password change ends every session at once.
    "CHECK_REVOKE_TOKEN": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Contacts & call-log sync CRM API",
    "DESCRIPTION": "Mobile and back-office API (v1). See docs/API.md and docs/SYNC.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],  # public: a stale token must not hide the docs
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm.http.schema.strip_trailing_slashes",
        "crm.http.schema.document_errors",
        "crm.http.schema.one_or_many_bodies",
    ],
}

# Structured JSON lines in production, readable lines in development (LOG_FORMAT overrides).
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "crm.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The request middleware logs every request once; Django's own 4xx warnings repeat it.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "watchfiles": {"level": "WARNING"},  # make run's reloader
        # A line per job would be two every 5 s for the push round; failures still show.
        "procrastinate": {"level": "WARNING"},
    },
}

# Optional error reporting. Off unless SENTRY_DSN is set; no personal data is sent.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production"),
        send_default_pii=False,
        traces_sample_rate=0.0,
    )
