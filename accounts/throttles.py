"""Login throttles: failed attempts per client address and per target email.

They are checked before the password is hashed, so a flood of logins is refused before it can
burn CPU on PBKDF2. Only failures count: a person who logs in on several phones in a minute is
not throttled. The counters live in the shared (database) cache, so every gunicorn worker agrees.

The policy (README, "Brute force"):
- per address, any email: LOGIN_RATE_PER_ADDRESS failures (30/min);
- per email *and* address: LOGIN_RATE_PER_EMAIL failures (5/min). Guessing one account from
  one address is slowed there, and nobody elsewhere is locked out by it;
- per email from everywhere: LOGIN_RATE_PER_EMAIL_CEILING failures (100/hour), against guessing
  spread over many addresses. Over the ceiling, only addresses that have failed for that email
  are refused: the owner signing in from an address with no failures still gets in, so the
  ceiling is no switch for keeping an account locked;
- django-axes locks one account from one address after LOGIN_LOCKOUT_FAILURES (accounts/lockout.py).
The address is the one crm.http.clients decides (X-Forwarded-For only through trusted proxies).
"""

import hashlib

from rest_framework.throttling import SimpleRateThrottle

from crm.http.clients import client_address


def _email_ident(request) -> str | None:
    email = request.data.get("email") if hasattr(request.data, "get") else None
    if not isinstance(email, str) or not email:
        return None
    # Hashed: any bytes a client sends become a safe, fixed-length cache key.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class _FailureThrottle(SimpleRateThrottle):
    def get_ident(self, request) -> str:
        # Not DRF's own reading of X-Forwarded-For: the one the whole app uses.
        return client_address(request) or "unknown"

    def throttle_success(self):
        # Checking does not count; record_failure() does.
        return True

    def record_failure(self, request, view) -> None:
        key = self.get_cache_key(request, view)
        if key is None:
            return
        history = [t for t in self.cache.get(key, []) if t > self.timer() - self.duration]
        history.insert(0, self.timer())
        self.cache.set(key, history, self.duration)


class LoginAddressThrottle(_FailureThrottle):
    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginEmailThrottle(_FailureThrottle):
    """Failures for one email from one address."""

    scope = "login_email"

    def get_cache_key(self, request, view):
        email = _email_ident(request)
        if email is None:
            return None
        ident = f"{email}:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginEmailCeiling(_FailureThrottle):
    """Failures for one email from every address. Over the ceiling it refuses the addresses
    that failed for that email within the ceiling's own window (an hour by default): spread
    guessing gets one try per address per window, the owner on a clean address gets in."""

    scope = "login_email_ceiling"

    def get_cache_key(self, request, view):
        email = _email_ident(request)
        if email is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": email}

    def _address_key(self, request, view) -> str | None:
        email = _email_ident(request)
        if email is None:
            return None
        ident = f"{email}:{self.get_ident(request)}"
        return self.cache_format % {"scope": f"{self.scope}_address", "ident": ident}

    def _address_failures(self, request, view) -> list[float]:
        key = self._address_key(request, view)
        history = self.cache.get(key, []) if key is not None else []
        return [t for t in history if t > self.timer() - self.duration]

    def allow_request(self, request, view):
        if super().allow_request(request, view):
            return True
        return not self._address_failures(request, view)

    def record_failure(self, request, view) -> None:
        super().record_failure(request, view)
        key = self._address_key(request, view)
        if key is not None:
            history = [self.timer(), *self._address_failures(request, view)]
            self.cache.set(key, history, self.duration)
