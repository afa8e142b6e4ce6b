"""Round 2 of the attacker's findings on sign-in: refresh races and reuse, spoofed addresses,
lockout as a weapon, racing user creation."""

import threading
import time
from http import HTTPStatus

import pytest
from django.db import connections
from rest_framework.test import APIClient

from accounts import throttles
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from crm.tests.helpers import assert_error

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"


def login(email, password=PASSWORD, **extra):
    return APIClient().post(LOGIN, {"email": email, "password": password}, format="json", **extra)


def refresh(token):
    return APIClient().post(REFRESH, {"refresh": token}, format="json")


def works(access) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(ME).status_code == HTTPStatus.OK


def at_once(n, work):
    barrier, answers = threading.Barrier(n), [None] * n

    def run(i):
        try:
            barrier.wait()
            answers[i] = work()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.django_db(transaction=True)
def test_one_refresh_token_refreshed_six_times_at_once_succeeds_once():
    UserFactory(email="anna@example.com")
    token = login("anna@example.com").json()["refresh"]
    answers = at_once(6, lambda: refresh(token))
    assert sorted(a.status_code for a in answers) == [200] + [401] * 5
    # The five reuses revoke the family: the one new refresh token is dead too.
    winner = next(a for a in answers if a.status_code == 200).json()
    assert_error(refresh(winner["refresh"]), 401)


@pytest.mark.django_db
def test_reusing_a_rotated_token_revokes_its_whole_family_only():
    UserFactory(email="anna@example.com")
    phone = login("anna@example.com").json()
    tablet = login("anna@example.com").json()  # another login: another family
    rotated = refresh(phone["refresh"]).json()
    newer = refresh(rotated["refresh"]).json()
    assert_error(refresh(phone["refresh"]), 401)  # a copy of the first token turns up
    assert_error(refresh(newer["refresh"]), 401)  # every descendant of that login is revoked
    assert refresh(tablet["refresh"]).status_code == HTTPStatus.OK  # the other login is not


def _rates(monkeypatch, throttle, **rates):
    monkeypatch.setattr(throttle, "THROTTLE_RATES", {**throttle.THROTTLE_RATES, **rates})


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_moves_no_throttle(settings, monkeypatch):
    settings.TRUSTED_PROXIES = 0
    _rates(monkeypatch, throttles.LoginAddressThrottle, login_ip="3/min")
    for n in range(3):
        login(f"guess{n}@example.com", "x", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    # All three counted against the socket's address: rotating the header did not help.
    response = login("guess9@example.com", "x", HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert_error(response, 429, "throttled")


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_address_counts(settings):
    settings.TRUSTED_PROXIES = 1
    UserFactory(email="anna@example.com")
    for _ in range(5):
        login("anna@example.com", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert login("anna@example.com", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    # Another client behind the same proxy (same REMOTE_ADDR) is not blocked ...
    assert login("anna@example.com", HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 200
    # ... and a client's own prefix to the header is ignored: the proxy's entry counts.
    spoof = "198.51.100.8, 198.51.100.7"
    assert login("anna@example.com", "wrong", HTTP_X_FORWARDED_FOR=spoof).status_code == 429


@pytest.mark.django_db
def test_failures_elsewhere_do_not_lock_the_owner_out():
    UserFactory(email="anna@example.com")
    for _ in range(6):
        login("anna@example.com", "wrong", REMOTE_ADDR="203.0.113.5")
    assert login("anna@example.com", REMOTE_ADDR="203.0.113.5").status_code == 429
    assert login("anna@example.com", REMOTE_ADDR="192.0.2.10").status_code == 200


@pytest.mark.django_db
def test_the_global_ceiling_stops_spread_guessing_but_not_a_clean_address(monkeypatch):
    _rates(monkeypatch, throttles.LoginEmailCeiling, login_email_ceiling="10/hour")
    UserFactory(email="anna@example.com")
    for n in range(10):  # ten addresses, one guess each: under every per-address limit
        login("anna@example.com", "wrong", REMOTE_ADDR=f"203.0.113.{n}")
    # Over the ceiling: an address that guessed before is refused, even with the password.
    assert login("anna@example.com", REMOTE_ADDR="203.0.113.3").status_code == 429
    # The owner, from an address with no failures, signs in.
    assert login("anna@example.com", REMOTE_ADDR="192.0.2.10").status_code == 200
    # A minute later (the per-address window passed) a guessing address is still refused:
    # over the ceiling, one failure within the hour is enough.
    monkeypatch.setattr(throttles.LoginEmailThrottle, "timer", lambda self: time.time() + 120)
    assert login("anna@example.com", "wrong", REMOTE_ADDR="203.0.113.4").status_code == 429


@pytest.mark.django_db(transaction=True)
def test_six_creates_of_one_email_at_once_make_one_user(admin_client):
    from rest_framework_simplejwt.tokens import RefreshToken

    admin = User.objects.get(email="admin@example.com")
    access = str(RefreshToken.for_user(admin).access_token)

    def create(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        email = "New.Person@Example.com" if i % 2 else "new.person@example.com"
        body = {"email": email, "name": "New", "password": "a-Long-and-unusual-7"}
        return client.post("/api/v1/users", body, format="json")

    counter = iter(range(6))
    answers = at_once(6, lambda: create(next(counter)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [400] * 5, [a.content[:200] for a in answers]
    assert User.objects.filter(email="new.person@example.com").count() == 1
