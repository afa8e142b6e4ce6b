"""Who may do what over /dav/: every role, and every way of not being let in. The REST API's
rules (contacts.permissions.contact_can_edit), read through HTTP Basic and app passwords."""

from http import HTTPStatus

import pytest
from django.test import Client

from accounts.apppasswords import app_password_create, app_password_revoke
from accounts.models import Role
from accounts.tests.factories import PASSWORD, UserFactory
from carddav.tests.helpers import DavClient, basic, card
from contacts.models import Contact
from contacts.tests.factories import make_contact, next_phone

pytestmark = pytest.mark.django_db

ROLES = ("admin", "manager", "agent", "viewer")
REFUSED = ("anonymous", "deactivated", "revoked", "account_password", "wrong_email")


def _phone(kind: str) -> DavClient:
    role = kind if kind in ROLES else Role.AGENT
    user = UserFactory(role=role)
    phone = DavClient(user)
    if kind == "anonymous":
        phone.http = Client()
    elif kind == "deactivated":
        user.is_active = False
        user.save()
    elif kind == "revoked":
        app_password_revoke(actor=user, app_password=user.app_passwords.get())
    elif kind == "account_password":
        phone.http = Client(HTTP_AUTHORIZATION=basic(user.email, PASSWORD))
    elif kind == "wrong_email":
        phone.http = Client(HTTP_AUTHORIZATION=basic("someone@example.com", phone.password))
    return phone


@pytest.fixture
def others_contact():
    return make_contact(actor=UserFactory(role=Role.AGENT), name="Someone Else's")


@pytest.mark.parametrize("kind", REFUSED)
@pytest.mark.parametrize("method", ["PROPFIND", "REPORT", "GET", "PUT", "DELETE"])
def test_it_refuses_whoever_is_not_signed_in_with_a_live_app_password(kind, method, others_contact):
    phone = _phone(kind)
    path = (
        phone.book if method in ("PROPFIND", "REPORT") else f"{phone.book}{others_contact.pk}.vcf"
    )
    response = phone.request(method, path, card("X", next_phone()), depth="0")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith('Basic realm="Team contacts"')


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_book(role, others_contact):
    phone = _phone(role)
    assert phone.propfind(phone.book).status_code == 207
    assert phone.sync().responses()
    got = phone.http.get(f"{phone.book}{others_contact.pk}.vcf")
    assert got.status_code == HTTPStatus.OK


def _need_privileges(response) -> bool:
    return response.status_code == HTTPStatus.FORBIDDEN and b"need-privileges" in response.content


@pytest.mark.parametrize(
    ("role", "allowed"), [("admin", True), ("manager", True), ("agent", True), ("viewer", False)]
)
def test_who_may_add_a_card(role, allowed):
    phone = _phone(role)
    response = phone.put("new.vcf", card("New Person", next_phone()), if_none_match="*")
    if allowed:
        assert response.status_code == HTTPStatus.CREATED
    else:
        assert _need_privileges(response)
        assert not Contact.live.filter(name="New Person").exists()


@pytest.mark.parametrize(
    ("role", "allowed"), [("admin", True), ("manager", True), ("agent", False), ("viewer", False)]
)
def test_who_may_change_or_delete_someone_elses_contact(role, allowed, others_contact):
    phone = _phone(role)
    name = f"{others_contact.pk}.vcf"
    etag = f'"{others_contact.version}"'
    edit = phone.put(name, card("Renamed", others_contact.phone_normalized), if_match=etag)
    if allowed:
        assert edit.status_code == HTTPStatus.NO_CONTENT
        etag = edit["ETag"]
    else:
        assert _need_privileges(edit)
    delete = phone.request("DELETE", phone.book + name, if_match=etag)
    if allowed:
        assert delete.status_code == HTTPStatus.NO_CONTENT
    else:
        assert _need_privileges(delete)
        others_contact.refresh_from_db()
        assert others_contact.name == "Someone Else's" and others_contact.deleted_at is None


def test_an_agent_changes_and_deletes_their_own_contacts(agent):
    phone = DavClient(agent)
    own = make_contact(actor=agent, name="Mine")
    name = f"{own.pk}.vcf"
    edit = phone.put(name, card("Still Mine", own.phone_normalized), if_match=f'"{own.version}"')
    assert edit.status_code == HTTPStatus.NO_CONTENT
    delete = phone.request("DELETE", phone.book + name, if_match=edit["ETag"])
    assert delete.status_code == HTTPStatus.NO_CONTENT


def test_a_viewer_is_offered_a_read_only_book(viewer):
    phone = DavClient(viewer)
    body = '<propfind xmlns="DAV:"><prop><current-user-privilege-set/></prop></propfind>'
    response = phone.propfind(phone.book, body)
    assert b"<d:read/>" in response.content
    assert b"write" not in response.content


def test_another_users_book_is_not_found(agent, other_agent):
    phone = DavClient(agent)
    other_book = f"/dav/addressbooks/{other_agent.pk}/team/"
    assert phone.propfind(other_book).status_code == HTTPStatus.NOT_FOUND
    assert phone.propfind(f"/dav/principals/{other_agent.pk}/").status_code == 404


def test_a_deactivated_users_app_passwords_stop_at_once(agent):
    phone = DavClient(agent)
    assert phone.propfind(phone.book).status_code == 207
    agent.is_active = False
    agent.save()
    assert phone.propfind(phone.book).status_code == HTTPStatus.UNAUTHORIZED


def test_failed_basic_sign_ins_are_throttled_like_logins(agent, client):
    wrong = Client(HTTP_AUTHORIZATION=basic(agent.email, "not-the-app-password"))
    statuses = [
        wrong.generic("PROPFIND", "/dav/", b"", HTTP_DEPTH="0").status_code for _ in range(6)
    ]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == HTTPStatus.TOO_MANY_REQUESTS
    # The same counters as the JWT login: that email is throttled there too.
    login = client.post(
        "/api/v1/auth/login",
        {"email": agent.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert login.status_code == HTTPStatus.TOO_MANY_REQUESTS
    # A phone with its app password keeps syncing (see accounts/apppasswords.py).
    _, secret = app_password_create(user=agent, label="Pixel")
    ok = Client(HTTP_AUTHORIZATION=basic(agent.email, secret))
    assert ok.generic("PROPFIND", "/dav/", b"", HTTP_DEPTH="0").status_code == 207


def test_csrf_does_not_apply_to_dav_but_still_to_the_rest(agent):
    phone = DavClient(agent)
    phone.http = Client(
        enforce_csrf_checks=True, HTTP_AUTHORIZATION=phone.http.defaults["HTTP_AUTHORIZATION"]
    )
    response = phone.put("csrf.vcf", card("No Cookie", next_phone()), if_none_match="*")
    assert response.status_code == HTTPStatus.CREATED
