"""App passwords: what a CardDAV client (DAVx5) signs in with, over HTTP Basic.

A secret is 32 random bytes (256 bits) written in base32, lower case, in groups of four. Only
its SHA-256 digest is stored, unsalted, and a sign-in finds the password by that digest (one
indexed query). Slow, salted hashing (PBKDF2, Django's hasher) exists for passwords people
choose, which can be guessed word by word; nobody guesses 256 random bits, salted or not, and
a stolen table of digests gives nothing to reverse. A fast digest also matters because a
CardDAV client authenticates *every* request: DAVx5 sends a thousand multigets to read a
20,000-contact book, and PBKDF2 would cost about 0.1 s each. (GitHub's tokens are stored the
same way.) The account password is never accepted here: it has no digest in this table.

Failed sign-ins are counted by the login throttles (per address, per email, per email
everywhere) and by django-axes, exactly like a failed ``POST /auth/login``; once over a limit
the answer is 429. The throttles are read when a sign-in *fails*: a correct app password is
let in without reading them, as guessing one is hopeless and a phone whose owner's address is
being hammered by someone else keeps syncing (a failing request pays for the check instead of
every one of the thousand requests of a full sync).
"""

import base64
import binascii
import functools
import hashlib
import secrets
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.signals import user_login_failed
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import AppPassword, User
from accounts.throttles import LoginAddressThrottle, LoginEmailCeiling, LoginEmailThrottle
from crm.db import server_prepared
from ledger.activity import activity_record

LABEL_MAX_LENGTH = 100
# last_used_at is written at most this often (a full sync is a thousand requests).
TOUCH_EVERY = timedelta(minutes=5)


def _digest(password: str) -> str:
    """The digest of a secret as typed: dashes, spaces and case do not matter."""
    normalized = "".join(password.split()).replace("-", "").lower()
    return hashlib.sha256(normalized.encode()).hexdigest()


def _secret_new() -> str:
    raw = base64.b32encode(secrets.token_bytes(32)).decode().rstrip("=").lower()
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def app_password_list(*, user: User) -> QuerySet[AppPassword]:
    """The caller's own live app passwords, newest first."""
    return AppPassword.objects.filter(user=user, revoked_at__isnull=True).order_by(
        "-created_at", "id"
    )


@transaction.atomic
def app_password_create(*, user: User, label: str) -> tuple[AppPassword, str]:
    """A new app password and its secret, which is shown this once and never again."""
    secret = _secret_new()
    app_password = AppPassword.objects.create(user=user, label=label, digest=_digest(secret))
    activity_record(
        actor=user,
        action="accounts.app_password.created",
        obj=app_password,
        changes={"label": [None, label]},
    )
    return app_password, secret


@transaction.atomic
def app_password_revoke(*, actor: User, app_password: AppPassword) -> AppPassword:
    """Revoked at once: the next request signed with it is a 401. Revoking twice is a no-op."""
    if app_password.revoked_at is None:
        app_password.revoked_at = timezone.now()
        app_password.save(update_fields=["revoked_at"])
        activity_record(
            actor=actor,
            action="accounts.app_password.revoked",
            obj=app_password,
            changes={"label": [app_password.label, None]},
        )
    return app_password


@functools.cache
def _user_by_digest_sql() -> tuple[str, list[str]]:
    """The statement of a sign-in, built once per process: the ORM's query building cost more
    than the database's answer, on every one of a full sync's thousand requests."""
    quote = connection.ops.quote_name
    fields = list(User._meta.concrete_fields)
    columns = ", ".join(f"u.{quote(f.column)}" for f in fields)
    users, passwords = quote(User._meta.db_table), quote(AppPassword._meta.db_table)
    sql = (
        f"SELECT p.id, p.last_used_at, {columns} FROM {passwords} p "  # noqa: S608 - names from the models
        f"JOIN {users} u ON u.id = p.user_id "
        "WHERE p.digest = %s AND p.revoked_at IS NULL AND u.is_active AND u.email = %s"
    )
    return sql, [f.attname for f in fields]


def app_password_user(*, email: str, password: str) -> User | None:
    """The active user whose live app password this is, or None (one query, a prepared
    statement: crm.db.server_prepared; a second one at most every TOUCH_EVERY to note the use)."""
    if not email or not password or len(password) > 200:
        return None
    sql, attnames = _user_by_digest_sql()
    with server_prepared.cursor() as cursor:
        cursor.execute(sql, [_digest(password), email.strip().lower()])
        row = cursor.fetchone()
    if row is None:
        return None
    pk, last_used_at, *values = row
    now = timezone.now()
    if last_used_at is None or last_used_at < now - TOUCH_EVERY:
        AppPassword.objects.filter(pk=pk).update(last_used_at=now)
    return User.from_db(connection.alias, attnames, values)


# --- HTTP Basic -------------------------------------------------------------------------------


class BasicAuthFailed(Exception):
    """``status`` is 401 (no or wrong credentials) or 429 (throttled or locked out)."""

    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


class _LoginAttempt:
    """What the login throttles read of a request (they were written for DRF's, whose body
    holds the email): the address from META, the email from the Basic header."""

    def __init__(self, request, email: str):
        self.META = request.META
        self.data = {"email": email}


def _basic_credentials(request) -> tuple[str, str] | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip() or len(value) > 2048:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    email, sep, password = decoded.partition(":")
    if not sep:
        return None
    return email, password


def basic_authenticate(request) -> User:
    """The user of a request signed with HTTP Basic (email + app password), or BasicAuthFailed.
    A failure is counted like a failed login (see the module's docstring)."""
    credentials = _basic_credentials(request)
    if credentials is None:
        raise BasicAuthFailed(401, "Sign in with your email and an app password.")
    email, password = credentials
    user = app_password_user(email=email, password=password)
    if user is not None:
        return user
    attempt = _LoginAttempt(request, email.strip().lower()[:254])
    throttles = [LoginAddressThrottle(), LoginEmailThrottle(), LoginEmailCeiling()]
    axes_credentials = {"username": attempt.data["email"]}
    AxesProxyHandler.update_request(request)
    if AxesProxyHandler.is_locked(request, axes_credentials):
        raise BasicAuthFailed(429, "Too many failed sign-ins; try again later.")
    for throttle in throttles:
        if not throttle.allow_request(attempt, None):
            raise BasicAuthFailed(
                429, "Too many failed sign-ins; try again later.", int(throttle.wait() or 60)
            )
    for throttle in throttles:
        throttle.record_failure(attempt, None)
    # django-axes counts it (and locks the account from this address after the limit).
    user_login_failed.send(sender=__name__, credentials=axes_credentials, request=request)
    request.__dict__.pop("axes_locked_out", None)  # our own answer, not axes' HTML page
    raise BasicAuthFailed(401, "Wrong email or app password.")
