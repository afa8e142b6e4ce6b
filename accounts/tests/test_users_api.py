from http import HTTPStatus

import pytest

from accounts.models import Role, User
from accounts.tests.factories import UserFactory
from crm.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

USERS = "/api/v1/users"
STRONG = "a-Long-and-unusual-passphrase-7"


def test_admin_lists_users_paginated(admin_client):
    UserFactory.create_batch(3)
    response = admin_client.get(USERS, {"limit": 2})
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["count"] == 4
    assert len(body["results"]) == 2
    assert body["next"] is not None
    assert "password" not in body["results"][0]


def test_admin_creates_a_user_who_can_log_in(admin_client, anon_client):
    response = admin_client.post(
        USERS,
        {"email": "New@Example.com", "name": "New", "password": STRONG, "role": "manager"},
        format="json",
    )
    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["email"] == "new@example.com"
    assert response.json()["role"] == "manager"
    login = anon_client.post(
        "/api/v1/auth/login", {"email": "new@example.com", "password": STRONG}, format="json"
    )
    assert login.status_code == HTTPStatus.OK


def test_create_defaults_to_agent(admin_client):
    response = admin_client.post(
        USERS, {"email": "a@example.com", "password": STRONG}, format="json"
    )
    assert response.json()["role"] == "agent"


def test_it_rejects_a_duplicate_email_case_insensitively(admin_client):
    UserFactory(email="taken@example.com")
    response = admin_client.post(
        USERS, {"email": "TAKEN@example.com", "password": STRONG}, format="json"
    )
    error = assert_error(response, 400, "validation_error")
    assert "email" in error["details"]


def test_it_rejects_a_weak_password(admin_client):
    response = admin_client.post(
        USERS, {"email": "weak@example.com", "password": "12345678"}, format="json"
    )
    error = assert_error(response, 400, "validation_error")
    assert "password" in error["details"]


def test_it_rejects_an_unknown_role(admin_client):
    response = admin_client.post(
        USERS, {"email": "r@example.com", "password": STRONG, "role": "god"}, format="json"
    )
    assert "role" in assert_error(response, 400)["details"]


def test_admin_patches_name_role_active_and_password(admin_client, anon_client):
    user = UserFactory(role=Role.AGENT)
    response = admin_client.patch(
        f"{USERS}/{user.id}",
        {"name": "Renamed", "role": "admin", "password": STRONG},
        format="json",
    )
    assert response.status_code == HTTPStatus.OK
    user.refresh_from_db()
    assert (user.name, user.role, user.is_staff, user.is_superuser) == (
        "Renamed",
        "admin",
        True,
        True,
    )
    assert user.check_password(STRONG)
    admin_client.patch(f"{USERS}/{user.id}", {"role": "viewer"}, format="json")
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (False, False)


def test_delete_deactivates_and_keeps_the_row(admin_client):
    user = UserFactory()
    assert admin_client.delete(f"{USERS}/{user.id}").status_code == HTTPStatus.NO_CONTENT
    user.refresh_from_db()
    assert user.is_active is False
    assert admin_client.get(f"{USERS}/{user.id}").json()["is_active"] is False


def test_an_admin_cannot_delete_or_demote_themself(admin_client, admin_user):
    assert_error(admin_client.delete(f"{USERS}/{admin_user.id}"), 400, "cannot_delete_self")
    assert_error(
        admin_client.patch(f"{USERS}/{admin_user.id}", {"role": "agent"}, format="json"), 400
    )
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.role == Role.ADMIN


def test_unknown_and_malformed_ids_are_404(admin_client):
    assert_error(admin_client.get(f"{USERS}/00000000-0000-0000-0000-000000000000"), 404)
    assert_error(admin_client.get(f"{USERS}/not-a-uuid"), 404)


def test_put_is_not_allowed(admin_client, agent):
    assert_error(admin_client.put(f"{USERS}/{agent.id}", {}, format="json"), 405)


@pytest.mark.parametrize("role", ["manager", "agent", "viewer"])
def test_non_admins_are_refused_everything(client_for, role):
    client = client_for(UserFactory(role=role))
    target = UserFactory()
    for response in (
        client.get(USERS),
        client.post(USERS, {"email": "x@example.com", "password": STRONG}, format="json"),
        client.get(f"{USERS}/{target.id}"),
        client.patch(f"{USERS}/{target.id}", {"name": "x"}, format="json"),
        client.delete(f"{USERS}/{target.id}"),
    ):
        assert_error(response, 403, "permission_denied")
    assert User.objects.filter(email="x@example.com").exists() is False


def test_anonymous_is_refused_with_401(anon_client):
    assert_error(anon_client.get(USERS), 401, "not_authenticated")
    assert_error(anon_client.post(USERS, {}, format="json"), 401)


def test_user_changes_are_recorded(admin_client, admin_user):
    from ledger.models import Activity

    response = admin_client.post(
        USERS, {"email": "n@example.com", "password": STRONG}, format="json"
    )
    user_id = response.json()["id"]
    admin_client.patch(f"{USERS}/{user_id}", {"role": "manager"}, format="json")
    admin_client.delete(f"{USERS}/{user_id}")
    actions = list(
        Activity.objects.filter(object_id=user_id).order_by("id").values_list("action", "actor")
    )
    assert actions == [
        ("accounts.user.created", admin_user.id),
        ("accounts.user.role_changed", admin_user.id),
        ("accounts.user.deactivated", admin_user.id),
    ]
