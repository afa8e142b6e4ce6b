"""Who is calling: the one place a request's client address is decided.

``X-Forwarded-For`` is written by whoever sends the request, so it is believed only as far as
the deployment says: with ``TRUSTED_PROXIES`` = N (default 0), the N proxies nearest to the app
each appended the address they saw, and the client is the N-th address from the right; what
stands left of it came from the client and is ignored. With 0 the header is ignored and the
address is the socket's. Throttles, the lockout (django-axes), the request log and the sync
audit all ask this function, so a spoofed header moves none of them.
"""

import ipaddress

from django.conf import settings


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(request) -> str | None:
    remote = _address(request.META.get("REMOTE_ADDR", "") or "")
    hops = settings.TRUSTED_PROXIES
    if hops <= 0:
        return remote
    forwarded = [a for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if not forwarded:
        return remote
    # Fewer entries than trusted proxies: the nearest proxies saw the client directly.
    return _address(forwarded[-min(hops, len(forwarded))]) or remote
