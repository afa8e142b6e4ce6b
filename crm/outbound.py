"""Where the server may send requests on a user's say-so (Web Push endpoints).

A push endpoint is a URL a phone hands us; the worker then POSTs to it. Unchecked, that is a
way to make the server knock on internal doors (server-side request forgery): the cloud's
metadata service at 169.254.169.254, the database port, an admin panel on the LAN. The rule:
http or https only; never link-local, multicast, reserved or unspecified addresses; loopback
and private networks only while WEBPUSH_ALLOW_PRIVATE_NETWORKS is on (the default: a
self-hosted team's push distributor, ntfy say, often lives on its LAN). The worker checks the
addresses the name resolves to when it sends, and follows no redirect.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


def _address_problem(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return f"{address} is not an address the server sends to"
    if (ip.is_loopback or ip.is_private) and not settings.WEBPUSH_ALLOW_PRIVATE_NETWORKS:
        return f"{address} is on a private network"
    return None


def outbound_url_problem(url: str, *, resolve: bool) -> str | None:
    """Why the server must not POST to ``url``; None when it may. With ``resolve``, the
    addresses its host name has now are checked too."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the endpoint must be an http or https URL"
    host = parts.hostname
    try:
        return _address_problem(host)
    except ValueError:
        pass  # a name, not an address
    if not resolve:
        return None
    try:
        found = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return None  # unreachable now: the send fails and backs off
    for *_, sockaddr in found:
        problem = _address_problem(sockaddr[0])
        if problem:
            return problem
    return None
