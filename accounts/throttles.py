"""Login throttles: failed attempts per client address and per target email.

They are checked before the password is hashed, so a flood of logins is refused before it can
burn CPU on PBKDF2. Only failures count: a person who logs in on several phones in a minute is
not throttled. The counters live in the shared (database) cache, so every gunicorn worker agrees.
The address limit is higher than the email limit, so one guessed account locks only itself and
an office behind one NAT address keeps working.
"""

import hashlib

from rest_framework.throttling import SimpleRateThrottle


class _FailureThrottle(SimpleRateThrottle):
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
    scope = "login_email"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email:
            return None
        # Hashed: any bytes a client sends become a safe, fixed-length cache key.
        ident = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}
