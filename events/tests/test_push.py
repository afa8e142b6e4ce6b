"""Web Push from a real worker process to a local fake push service that records what it
gets (the one part outside this machine: a phone's push service)."""

import base64
import json
import os
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.devices import DEVICE_CLAIM
from contacts.tests.factories import make_contact
from crm.tests.processes import worker_once
from events.push import vapid_public_key
from events.tasks import push_round_task
from jobs.queue import enqueue
from syncaudit.models import Device, PushSubscription
from syncaudit.services import device_for_login, device_push_register

pytestmark = pytest.mark.django_db(transaction=True)  # the worker must see committed rows


class FakePushService:
    """Answers POST /<status>/<anything> with that status and records each request."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                received.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": self.rfile.read(length),
                    }
                )
                status = int(self.path.split("/")[1])
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/201/redirected")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, status: int, name: str = "phone") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{status}/{name}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def push_service():
    service = FakePushService()
    yield service
    service.close()


def _key(size: int) -> str:
    return base64.urlsafe_b64encode(os.urandom(size)).rstrip(b"=").decode()


def _subscribe(user, endpoint: str, device_id: str = "pixel-7") -> Device:
    device = device_for_login(user=user, device_id=device_id)
    device_push_register(device=device, endpoint=endpoint, p256dh=_key(65), auth=_key(16))
    return device


def _round(**env: str):
    enqueue(push_round_task, timestamp=0)
    result = worker_once(**env)
    assert result.returncode == 0, result.stderr[-3000:]


def _claims(authorization: str) -> dict:
    # "vapid t=<JWT>, k=<public key>"
    parts = dict(p.strip().split("=", 1) for p in authorization[len("vapid ") :].split(","))
    payload = parts["t"].split(".")[1]
    return {**json.loads(base64.urlsafe_b64decode(payload + "==")), "k": parts["k"]}


def test_a_change_sends_each_subscribed_phone_one_empty_vapid_signed_message(agent, push_service):
    _subscribe(agent, push_service.url(201))
    make_contact(actor=agent)
    _round()
    assert len(push_service.received) == 1
    message = push_service.received[0]
    assert message["body"] == b""  # data-less: nothing to encrypt, nothing to leak
    assert int(message["headers"]["ttl"]) > 0
    claims = _claims(message["headers"]["authorization"])
    assert claims["k"] == vapid_public_key()
    assert claims["aud"] == push_service.url(201).rsplit("/", 2)[0]
    assert claims["sub"].startswith("mailto:")


def test_nothing_is_sent_when_no_feed_moved(agent, push_service):
    _subscribe(agent, push_service.url(201))
    _round()
    assert push_service.received == []


def test_changes_within_the_window_are_coalesced_into_the_next_message(agent, push_service):
    device = _subscribe(agent, push_service.url(201))
    make_contact(actor=agent)
    _round()
    make_contact(actor=agent)
    make_contact(actor=agent)
    _round()
    assert len(push_service.received) == 1  # within 10 s of the first: waits
    PushSubscription.objects.filter(device=device).update(
        last_sent_at=timezone.now() - timedelta(seconds=11)
    )
    _round()
    assert len(push_service.received) == 2  # one message for both changes
    _round()
    assert len(push_service.received) == 2


def test_a_gone_endpoint_is_dropped_and_a_failing_one_backs_off(agent, other_agent, push_service):
    gone = _subscribe(agent, push_service.url(410, "gone"))
    busy = _subscribe(other_agent, push_service.url(503, "busy"))
    make_contact(actor=agent)
    _round()
    assert len(push_service.received) == 2
    assert not PushSubscription.objects.filter(device=gone).exists()
    backing_off = PushSubscription.objects.get(device=busy)
    assert backing_off.failures == 1 and backing_off.last_error == "HTTP 503"
    assert backing_off.retry_at > timezone.now()
    _round()
    assert len(push_service.received) == 2  # not before retry_at
    PushSubscription.objects.filter(device=busy).update(retry_at=timezone.now())
    _round()
    assert len(push_service.received) == 3  # sent again: the change was not lost


def test_a_phone_holding_an_event_stream_gets_no_push(server, agent, push_service):
    device = _subscribe(agent, push_service.url(201))
    # A stream opened with this phone's token (as a login naming it issues).
    refresh = RefreshToken.for_user(agent)
    refresh[DEVICE_CLAIM] = str(device.pk)
    stream = server.stream(str(refresh.access_token))
    assert stream.status == 200
    make_contact(actor=agent)
    assert stream.next_event(timeout=5)["event"] == "contacts"
    _round()
    assert push_service.received == []
    stream.close()


def test_an_endpoint_on_a_refused_network_is_dropped_when_sending(agent, push_service):
    device = _subscribe(agent, push_service.url(201))  # accepted: private networks allowed
    make_contact(actor=agent)
    _round(WEBPUSH_ALLOW_PRIVATE_NETWORKS="false")  # the operator has since turned them off
    assert push_service.received == []
    assert not PushSubscription.objects.filter(device=device).exists()


def test_a_redirect_is_not_followed(agent, push_service):
    device = _subscribe(agent, push_service.url(307, "elsewhere"))
    make_contact(actor=agent)
    _round()
    assert [m["path"] for m in push_service.received] == ["/307/elsewhere"]  # not followed
    assert PushSubscription.objects.get(device=device).failures == 1
