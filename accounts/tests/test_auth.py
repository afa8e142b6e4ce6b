from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.tests.factories import PASSWORD, UserFactory
from crm.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


def login(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN, {"email": email, "password": password}, format="json", **extra)


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_it_logs_in_with_email_and_password():
    user = UserFactory(email="anna@example.com", name="Anna", role=Role.MANAGER)
    response = login(APIClient(), "Anna@Example.com")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"] == {
        "id": str(user.id),
        "email": "anna@example.com",
        "name": "Anna",
        "role": "manager",
    }
    me = bearer(body["access"]).get(ME)
    assert me.status_code == HTTPStatus.OK
    assert me.json()["id"] == str(user.id)
    user.refresh_from_db()
    assert user.last_login is not None


def test_it_gives_the_same_answer_for_unknown_email_and_wrong_password():
    UserFactory(email="anna@example.com")
    wrong = assert_error(login(APIClient(), "anna@example.com", "nope"), 401)
    unknown = assert_error(login(APIClient(), "nobody@example.com", "nope"), 401)
    assert wrong == unknown


def test_it_rejects_missing_fields_with_the_error_shape():
    error = assert_error(APIClient().post(LOGIN, {}, format="json"), 400, "validation_error")
    assert set(error["details"]) == {"email", "password"}


def test_it_throttles_repeated_failures_per_email():
    UserFactory(email="anna@example.com")
    client = APIClient()
    for _ in range(5):
        assert login(client, "anna@example.com", "wrong").status_code == 401
    error = assert_error(login(client, "anna@example.com", "wrong"), 429, "throttled")
    assert error["details"]["retry_after_seconds"] > 0
    # Even the right password waits: the throttle runs before the password is checked.
    assert login(client, "anna@example.com").status_code == 429
    # Another account from the same address is not locked out by it.
    UserFactory(email="bob@example.com")
    assert login(client, "bob@example.com").status_code == 200


def test_it_throttles_failures_per_address(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"login_ip": "3/min", "login_email": "100/min"},
    }
    from rest_framework.settings import api_settings

    api_settings.reload()
    from accounts import throttles

    throttles.LoginAddressThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        client = APIClient()
        for n in range(3):
            assert login(client, f"guess{n}@example.com", "x").status_code == 401
        assert_error(login(client, "guess9@example.com", "x"), 429, "throttled")
        # A different address is not affected.
        assert login(client, "guess9@example.com", "x", REMOTE_ADDR="10.0.0.9").status_code == 401
    finally:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"login_ip": "30/min", "login_email": "5/min"},
        }
        api_settings.reload()
        throttles.LoginAddressThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_successful_logins_are_not_throttled():
    UserFactory(email="anna@example.com")
    client = APIClient()
    for _ in range(8):
        assert login(client, "anna@example.com").status_code == 200


def test_refresh_rotates_and_a_used_refresh_token_is_refused():
    UserFactory(email="anna@example.com")
    tokens = login(APIClient(), "anna@example.com").json()
    first = APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert first.status_code == HTTPStatus.OK
    assert set(first.json()) == {"access", "refresh"}
    assert first.json()["refresh"] != tokens["refresh"]
    assert bearer(first.json()["access"]).get(ME).status_code == 200
    again = APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert_error(again, 401)


def test_refresh_rejects_garbage():
    assert_error(APIClient().post(REFRESH, {"refresh": "not-a-token"}, format="json"), 401)


def test_logout_kills_the_refresh_token():
    UserFactory(email="anna@example.com")
    tokens = login(APIClient(), "anna@example.com").json()
    response = bearer(tokens["access"]).post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_error(APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json"), 401)


def test_logout_refuses_someone_elses_refresh_token():
    UserFactory(email="anna@example.com")
    UserFactory(email="bob@example.com")
    anna = login(APIClient(), "anna@example.com").json()
    bob = login(APIClient(), "bob@example.com").json()
    response = bearer(anna["access"]).post(LOGOUT, {"refresh": bob["refresh"]}, format="json")
    assert_error(response, 403)
    assert APIClient().post(REFRESH, {"refresh": bob["refresh"]}, format="json").status_code == 200


def test_a_deactivated_users_tokens_stop_working_at_once(admin_client):
    user = UserFactory(email="anna@example.com")
    tokens = login(APIClient(), "anna@example.com").json()
    assert admin_client.delete(f"/api/v1/users/{user.id}").status_code == 204
    assert_error(bearer(tokens["access"]).get(ME), 401)
    assert_error(APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json"), 401)
    assert_error(login(APIClient(), "anna@example.com"), 401)


def test_me_requires_a_token():
    assert_error(APIClient().get(ME), 401, "not_authenticated")


def test_it_rejects_a_token_signed_with_another_key():
    import jwt

    user = UserFactory()
    forged = jwt.encode(
        {"token_type": "access", "user_id": str(user.id), "exp": 9999999999, "jti": "x"},
        "another-key-that-is-long-enough-for-hs256-0123456789",
        algorithm="HS256",
    )
    assert_error(bearer(forged).get(ME), 401)


def test_it_rejects_an_unsigned_token():
    import base64
    import json

    user = UserFactory()

    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    token = (
        b64({"alg": "none", "typ": "JWT"})
        + "."
        + b64({"token_type": "access", "user_id": str(user.id), "exp": 9999999999, "jti": "x"})
        + "."
    )
    assert_error(bearer(token).get(ME), 401)


def test_there_is_no_signup_endpoint(anon_client):
    for path in ("/api/v1/auth/register", "/api/v1/auth/signup", "/api/v1/register"):
        assert_error(anon_client.post(path, {}, format="json"), 404)


@pytest.fixture
def generous_throttles(settings):
    """Lift the per-minute throttles so the longer lockout can be seen on its own."""
    from rest_framework.settings import api_settings

    from accounts import throttles

    rates = {"login_ip": "1000/min", "login_email": "1000/min"}
    for cls in (throttles.LoginAddressThrottle, throttles.LoginEmailThrottle):
        cls.THROTTLE_RATES = rates
    yield
    for cls in (throttles.LoginAddressThrottle, throttles.LoginEmailThrottle):
        cls.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_repeated_failures_lock_the_account_from_that_address_only(generous_throttles, settings):
    settings.AXES_FAILURE_LIMIT = 4
    UserFactory(email="anna@example.com")
    client = APIClient()
    for _ in range(4):
        login(client, "anna@example.com", "wrong", REMOTE_ADDR="10.0.0.1")
    error = assert_error(
        login(client, "anna@example.com", REMOTE_ADDR="10.0.0.1"), 429, "locked_out"
    )
    assert error["details"]["retry_after_seconds"] == 15 * 60
    # The same account from another address, and a colleague behind the same address: fine.
    assert login(client, "anna@example.com", REMOTE_ADDR="10.0.0.2").status_code == 200
    UserFactory(email="bob@example.com")
    assert login(client, "bob@example.com", REMOTE_ADDR="10.0.0.1").status_code == 200


def test_a_locked_account_is_refused_before_the_password_is_hashed(
    generous_throttles, settings, monkeypatch
):
    settings.AXES_FAILURE_LIMIT = 2
    UserFactory(email="anna@example.com")
    client = APIClient()
    for _ in range(2):
        login(client, "anna@example.com", "wrong")
    from django.contrib.auth.hashers import MD5PasswordHasher

    def no_hashing(*args, **kwargs):
        raise AssertionError("the password was hashed for a locked account")

    monkeypatch.setattr(MD5PasswordHasher, "verify", no_hashing)
    assert_error(login(client, "anna@example.com"), 429, "locked_out")


def test_a_success_resets_the_failure_count(generous_throttles, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(email="anna@example.com")
    client = APIClient()
    for _ in range(2):
        login(client, "anna@example.com", "wrong")
    assert login(client, "anna@example.com").status_code == 200
    for _ in range(2):
        login(client, "anna@example.com", "wrong")
    assert login(client, "anna@example.com").status_code == 200


def test_a_password_change_ends_existing_sessions(admin_client):
    user = UserFactory(email="anna@example.com")
    tokens = login(APIClient(), "anna@example.com").json()
    new_password = "another-Long-passphrase-99"
    response = admin_client.patch(
        f"/api/v1/users/{user.id}", {"password": new_password}, format="json"
    )
    assert response.status_code == 200
    assert_error(bearer(tokens["access"]).get(ME), 401)
    assert_error(APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json"), 401)
    assert login(APIClient(), "anna@example.com", new_password).status_code == 200


def _signed_access(claims: dict) -> str:
    """An access token signed with the server's own key (as if the key had been used to mint
    odd claims): authentication must still refuse what does not name a live user."""
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken()
    for key, value in claims.items():
        token[key] = value
    return str(token)


@pytest.mark.parametrize("user_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", 7])
def test_a_token_naming_no_user_is_refused(user_id):
    assert_error(bearer(_signed_access({"user_id": user_id})).get(ME), 401)


def test_a_token_without_a_user_claim_is_refused():
    assert_error(bearer(_signed_access({})).get(ME), 401)


def test_the_user_is_read_fresh_on_every_request(admin_client):
    user = UserFactory(email="anna@example.com", name="Anna", role=Role.AGENT)
    client = bearer(login(APIClient(), "anna@example.com").json()["access"])
    assert client.get(ME).json()["role"] == "agent"
    assert (
        admin_client.patch(
            f"/api/v1/users/{user.id}", {"role": "manager", "name": "Anna B."}, format="json"
        ).status_code
        == 200
    )
    me = client.get(ME).json()
    assert (me["role"], me["name"], me["email"], me["id"]) == (
        "manager",
        "Anna B.",
        "anna@example.com",
        str(user.id),
    )
    # Permissions see the role as it is now: the users API is for admins only.
    assert client.get("/api/v1/users").status_code == 403  # still not an admin


def test_a_token_login_creates_no_session():
    from django.contrib.sessions.models import Session

    response = login(APIClient(), UserFactory(email="anna@example.com").email)
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()
    # django-axes still records the successful login in its access log.
    from axes.models import AccessLog

    assert AccessLog.objects.filter(username="anna@example.com").count() == 1
