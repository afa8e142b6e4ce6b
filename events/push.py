"""Web Push for phones in the background: a data-less message that says "pull your feeds".

Sent by the worker (``push.round`` every few seconds, events/tasks.py), never by a request.
A round compares the feeds' heads with the heads each subscription was last poked for: a
device whose feeds moved gets one message, unless it holds an open event stream (it was poked
there), was sent one less than WEBPUSH_COALESCE_SECONDS ago (the changes wait for the next
round: one message per device per window), or is backing off after a failure. An endpoint that
answers 404 or 410 is gone for good and is dropped; other failures back off (20 s, 40 s, ...,
at most an hour) and the message is sent again later. The message has no body: with no
payload there is nothing to encrypt and nothing to leak.

VAPID identifies this server to the push services: its key comes from
WEBPUSH_VAPID_PRIVATE_KEY, or is derived from DJANGO_SECRET_KEY so that every node and every
restart signs with the same key without one more secret to manage.
"""

import base64
import functools
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from crm.outbound import outbound_url_problem
from events.models import Stream
from ledger.models import ChangeFeed
from syncaudit.models import PushSubscription

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 5  # seconds per push service request
SENDERS = 8  # push services answered at once
GONE = (404, 410)
BACKOFF_MAX = timedelta(hours=1)
# The P-256 group order: a derived key is a number in [1, n-1].
_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


@functools.cache
def vapid_key() -> ec.EllipticCurvePrivateKey:
    configured = settings.WEBPUSH_VAPID_PRIVATE_KEY.strip()
    if configured.startswith("-----BEGIN"):
        return serialization.load_pem_private_key(configured.encode(), password=None)
    if configured:
        raw = base64.urlsafe_b64decode(configured + "=" * (-len(configured) % 4))
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    seed = hashlib.sha256(b"crm webpush vapid key\0" + settings.SECRET_KEY.encode()).digest()
    return ec.derive_private_key(
        int.from_bytes(seed, "big") % (_P256_ORDER - 1) + 1, ec.SECP256R1()
    )


def vapid_public_key() -> str:
    """The application server key phones give their push distributor (base64url)."""
    point = (
        vapid_key()
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def _moved(heads: dict[str, int], seen: dict) -> bool:
    return any(version > int(seen.get(feed, 0)) for feed, version in heads.items())


def push_round() -> dict[str, int]:
    """One round of Web Push (see the module's docstring). Counts of what it did."""
    now = timezone.now()
    heads = dict(ChangeFeed.objects.values_list("name", "version"))
    stale = now - timedelta(seconds=3 * settings.EVENTS_HEARTBEAT_SECONDS)
    Stream.objects.filter(seen_at__lt=now - timedelta(minutes=10)).delete()  # dead nodes' rows
    streaming = set(
        Stream.objects.filter(seen_at__gt=stale, device__isnull=False).values_list(
            "device_id", flat=True
        )
    )
    due = PushSubscription.objects.filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now),
        Q(last_sent_at__isnull=True)
        | Q(last_sent_at__lte=now - timedelta(seconds=settings.WEBPUSH_COALESCE_SECONDS)),
        device__revoked_at__isnull=True,
        device__user__is_active=True,
    ).order_by("pk")
    counts = {"sent": 0, "streaming": 0, "dropped": 0, "failed": 0}
    to_send = []
    for subscription in due:
        if not _moved(heads, subscription.heads_seen):
            continue
        if subscription.device_id in streaming:  # poked on its stream already
            subscription.heads_seen = heads
            subscription.save(update_fields=["heads_seen"])
            counts["streaming"] += 1
        else:
            to_send.append(subscription)
    if not to_send:
        return counts
    with ThreadPoolExecutor(max_workers=min(SENDERS, len(to_send))) as pool:
        outcomes = list(pool.map(_send, to_send))
    for subscription, status in zip(to_send, outcomes, strict=True):
        if status is not None and 200 <= status < 300:
            subscription.heads_seen = heads
            subscription.last_sent_at = now
            subscription.failures = 0
            subscription.retry_at = None
            subscription.last_error = ""
            subscription.save()
            counts["sent"] += 1
        elif status in GONE or status == REFUSED:
            logger.info("push endpoint of device %s is gone (%s)", subscription.device_id, status)
            subscription.delete()
            counts["dropped"] += 1
        else:
            subscription.failures += 1
            wait = min(timedelta(seconds=10 * 2**subscription.failures), BACKOFF_MAX)
            subscription.retry_at = now + wait
            subscription.last_error = f"HTTP {status}" if status else "unreachable"
            subscription.save()
            counts["failed"] += 1
    return counts


class _NoRedirects(requests.Session):
    """A push service answers; it does not send the server elsewhere (crm/outbound.py)."""

    def request(self, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


REFUSED = 0  # "status" of an endpoint the rules of crm/outbound.py refuse now


def _send(subscription: PushSubscription) -> int | None:
    """POST the empty message; the push service's status, or None when it was unreachable."""
    problem = outbound_url_problem(subscription.endpoint, resolve=True)
    if problem:
        logger.warning("push endpoint of device %s refused: %s", subscription.device_id, problem)
        return REFUSED
    try:
        response = webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=None,
            vapid_private_key=Vapid02(private_key=vapid_key()),
            vapid_claims={"sub": settings.WEBPUSH_VAPID_SUBJECT},
            ttl=3600,
            timeout=SEND_TIMEOUT,
            headers={"Urgency": "normal"},
            requests_session=_NoRedirects(),
        )
    except WebPushException as exc:
        if exc.response is not None:
            return exc.response.status_code
        logger.warning("push to device %s failed: %s", subscription.device_id, exc)
        return None
    except Exception as exc:
        logger.warning("push to device %s failed: %s", subscription.device_id, exc)
        return None
    return response.status_code
