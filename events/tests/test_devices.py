"""Phones: a login names its phone, everyone signs out their own, the push endpoint."""

import base64
import os
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.devices import DEVICE_CLAIM
from accounts.tests.factories import PASSWORD
from crm.tests.helpers import assert_error
from events.push import vapid_public_key
from syncaudit.models import Device, PushSubscription


def _login(user, device_id=None) -> dict:
    body = {"email": user.email, "password": PASSWORD}
    if device_id:
        body["device_id"] = device_id
    response = APIClient().post("/api/v1/auth/login", body, format="json")
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()


def _client(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _key(size: int) -> str:
    return base64.urlsafe_b64encode(os.urandom(size)).rstrip(b"=").decode()


SUBSCRIPTION = {
    "endpoint": "https://push.example.com/up/abc",
    "keys": {"p256dh": _key(65), "auth": _key(16)},
}


@pytest.mark.django_db
def test_a_login_naming_its_phone_creates_the_device_and_its_tokens_carry_it(agent):
    tokens = _login(agent, device_id="pixel-7")
    device = Device.objects.get(user=agent, device_id="pixel-7")
    assert AccessToken(tokens["access"])[DEVICE_CLAIM] == str(device.pk)
    rotated = APIClient().post(
        "/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert AccessToken(rotated.json()["access"])[DEVICE_CLAIM] == str(device.pk)
    assert DEVICE_CLAIM not in AccessToken(_login(agent)["access"])  # a login naming no phone


@pytest.mark.django_db
def test_signing_a_phone_out_ends_its_refresh_tokens_only(agent):
    phone = _login(agent, device_id="pixel-7")
    tablet = _login(agent, device_id="tablet")
    device = Device.objects.get(user=agent, device_id="pixel-7")
    client = _client(tablet["access"])
    listed = client.get("/api/v1/devices").json()["results"]
    assert {d["device_id"] for d in listed} == {"pixel-7", "tablet"}
    assert client.delete(f"/api/v1/devices/{device.pk}").status_code == HTTPStatus.NO_CONTENT
    device.refresh_from_db()
    assert device.revoked_at is not None
    refused = APIClient().post("/api/v1/auth/refresh", {"refresh": phone["refresh"]}, format="json")
    assert_error(refused, 401)
    kept = APIClient().post("/api/v1/auth/refresh", {"refresh": tablet["refresh"]}, format="json")
    assert kept.status_code == HTTPStatus.OK
    # Signing in again on that phone brings it back.
    _login(agent, device_id="pixel-7")
    device.refresh_from_db()
    assert device.revoked_at is None


@pytest.mark.django_db
def test_agents_cannot_see_or_sign_out_someone_elses_phone_and_managers_can(
    agent, other_agent, manager
):
    _login(other_agent, device_id="theirs")
    theirs = Device.objects.get(device_id="theirs")
    mine = _client(_login(agent)["access"])
    assert mine.get("/api/v1/devices").json()["count"] == 0
    assert_error(mine.delete(f"/api/v1/devices/{theirs.pk}"), 404)
    boss = _client(_login(manager)["access"])
    assert boss.get("/api/v1/devices").json()["count"] == 1
    assert boss.delete(f"/api/v1/devices/{theirs.pk}").status_code == HTTPStatus.NO_CONTENT


@pytest.mark.django_db
def test_a_phone_registers_and_removes_its_push_endpoint(agent, manager):
    tokens = _login(agent, device_id="pixel-7")
    device = Device.objects.get(device_id="pixel-7")
    client = _client(tokens["access"])
    url = f"/api/v1/devices/{device.pk}/push"
    response = client.post(url, SUBSCRIPTION, format="json")
    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["endpoint"] == SUBSCRIPTION["endpoint"]
    assert client.get("/api/v1/devices").json()["results"][0]["push"] is True
    again = {**SUBSCRIPTION, "endpoint": "https://push.example.com/up/new"}
    assert client.post(url, again, format="json").status_code == HTTPStatus.CREATED
    assert PushSubscription.objects.get(device=device).endpoint.endswith("/new")  # replaced
    boss = _client(_login(manager)["access"])
    assert_error(boss.post(url, SUBSCRIPTION, format="json"), 403)  # not the manager's phone
    assert client.delete(url).status_code == HTTPStatus.NO_CONTENT
    assert not PushSubscription.objects.filter(device=device).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SUBSCRIPTION, "endpoint": "not a url"}, "endpoint"),
        ({**SUBSCRIPTION, "keys": {"p256dh": _key(64), "auth": _key(16)}}, "keys"),
        ({**SUBSCRIPTION, "keys": {"p256dh": _key(65), "auth": "!!!"}}, "keys"),
        ({"endpoint": SUBSCRIPTION["endpoint"]}, "keys"),
        # Not a way into the server's own network (crm/outbound.py):
        ({**SUBSCRIPTION, "endpoint": "ftp://push.example.com/x"}, "endpoint"),
        ({**SUBSCRIPTION, "endpoint": "http://169.254.169.254/latest/meta-data"}, "endpoint"),
        ({**SUBSCRIPTION, "endpoint": "http://[fe80::1]/x"}, "endpoint"),
        ({**SUBSCRIPTION, "endpoint": "http://0.0.0.0:5432/"}, "endpoint"),
    ],
)
def test_a_bad_push_subscription_is_a_field_error(agent, body, field):
    tokens = _login(agent, device_id="pixel-7")
    device = Device.objects.get(device_id="pixel-7")
    response = _client(tokens["access"]).post(
        f"/api/v1/devices/{device.pk}/push", body, format="json"
    )
    error = assert_error(response, 400, "validation_error")
    assert field in error["details"]


@pytest.mark.django_db
def test_signing_a_phone_out_drops_its_push_endpoint(agent):
    tokens = _login(agent, device_id="pixel-7")
    device = Device.objects.get(device_id="pixel-7")
    client = _client(tokens["access"])
    client.post(f"/api/v1/devices/{device.pk}/push", SUBSCRIPTION, format="json")
    client.delete(f"/api/v1/devices/{device.pk}")
    assert not PushSubscription.objects.filter(device=device).exists()


@pytest.mark.django_db
def test_the_push_key_is_the_servers_vapid_public_key(agent_client):
    body = agent_client.get("/api/v1/devices/push-key").json()
    raw = base64.urlsafe_b64decode(body["public_key"] + "==")
    assert len(raw) == 65 and raw[0] == 4  # an uncompressed P-256 point
    assert body["public_key"] == vapid_public_key()


@pytest.mark.django_db(transaction=True)
def test_signing_a_phone_out_ends_its_open_stream(server, agent):
    tokens = _login(agent, device_id="pixel-7")
    other = _login(agent, device_id="tablet")
    device = Device.objects.get(device_id="pixel-7")
    stream = server.stream(tokens["access"])
    kept = server.stream(other["access"])
    assert stream.status == 200 and kept.status == 200
    assert _client(other["access"]).delete(f"/api/v1/devices/{device.pk}").status_code == 204
    assert stream.next_event(timeout=5) is None
    assert any("sign-out" in comment for comment in stream.comments)
    # The tablet's stream stays, and the signed-out phone's token opens none.
    with pytest.raises(TimeoutError):
        kept.next_event(timeout=1.5)
    assert not kept.ended
    assert server.stream(tokens["access"]).status == 401
    kept.close()


@pytest.mark.django_db
def test_the_back_office_signs_a_lost_phone_out(client, admin_user, agent):
    tokens = _login(agent, device_id="lost-phone")
    device = Device.objects.get(device_id="lost-phone")
    client.force_login(admin_user)
    response = client.post(
        "/admin/syncaudit/device/", {"action": "sign_out", "_selected_action": [device.pk]}
    )
    assert response.status_code == HTTPStatus.FOUND
    device.refresh_from_db()
    assert device.revoked_at is not None
    refused = APIClient().post(
        "/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert_error(refused, 401)
    listing = client.get("/admin/syncaudit/device/")
    assert "lost-phone" in listing.content.decode()


@pytest.mark.django_db
def test_private_network_endpoints_can_be_refused(agent, settings):
    settings.WEBPUSH_ALLOW_PRIVATE_NETWORKS = False
    tokens = _login(agent, device_id="pixel-7")
    device = Device.objects.get(device_id="pixel-7")
    client = _client(tokens["access"])
    for endpoint in ("http://127.0.0.1:8080/up", "https://10.0.0.5/up", "http://192.168.1.2/x"):
        body = {**SUBSCRIPTION, "endpoint": endpoint}
        response = client.post(f"/api/v1/devices/{device.pk}/push", body, format="json")
        assert "endpoint" in assert_error(response, 400, "validation_error")["details"]


@pytest.mark.django_db
def test_a_user_has_at_most_the_limit_of_push_endpoints(agent, settings):
    settings.WEBPUSH_MAX_ENDPOINTS_PER_USER = 2
    client = None
    for n in range(3):
        tokens = _login(agent, device_id=f"phone-{n}")
        device = Device.objects.get(device_id=f"phone-{n}")
        client = _client(tokens["access"])
        response = client.post(f"/api/v1/devices/{device.pk}/push", SUBSCRIPTION, format="json")
        if n < 2:
            assert response.status_code == HTTPStatus.CREATED
    assert "endpoint" in assert_error(response, 400, "validation_error")["details"]
    # Replacing an endpoint it already has is no new one.
    first = Device.objects.get(device_id="phone-0")
    again = client.post(f"/api/v1/devices/{first.pk}/push", SUBSCRIPTION, format="json")
    assert again.status_code in (HTTPStatus.CREATED, HTTPStatus.FORBIDDEN)
