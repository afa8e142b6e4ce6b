from http import HTTPStatus

import pytest

from accounts.models import AppPassword
from carddav.tests.helpers import DavClient

pytestmark = pytest.mark.django_db


def test_it_shows_the_password_once_and_lists_without_it(viewer_client, viewer):
    made = viewer_client.post("/api/v1/devices/app-passwords", {"label": "Pixel 8"}, format="json")
    assert made.status_code == HTTPStatus.CREATED
    body = made.json()
    assert set(body) == {"id", "label", "password", "created_at"}
    assert len(body["password"].replace("-", "")) == 52
    stored = AppPassword.objects.get(pk=body["id"])
    assert body["password"] not in stored.digest
    listed = viewer_client.get("/api/v1/devices/app-passwords").json()["results"]
    assert [row["label"] for row in listed] == ["Pixel 8"]
    assert "password" not in listed[0]


def test_revoking_stops_it_at_once(agent_client, agent):
    made = agent_client.post("/api/v1/devices/app-passwords", {"label": "P"}, format="json")
    phone = DavClient(agent, made.json()["password"])
    assert phone.propfind(phone.book).status_code == 207
    gone = agent_client.delete(f"/api/v1/devices/app-passwords/{made.json()['id']}")
    assert gone.status_code == HTTPStatus.NO_CONTENT
    assert phone.propfind(phone.book).status_code == HTTPStatus.UNAUTHORIZED
    assert agent_client.get("/api/v1/devices/app-passwords").json()["results"] == []


def test_another_users_is_not_found(agent_client, manager_client):
    made = manager_client.post("/api/v1/devices/app-passwords", {"label": "M"}, format="json")
    response = agent_client.delete(f"/api/v1/devices/app-passwords/{made.json()['id']}")
    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("body", [{}, {"label": ""}, {"label": "x" * 101}, {"label": None}])
def test_it_rejects_a_bad_label(agent_client, body):
    response = agent_client.post("/api/v1/devices/app-passwords", body, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_the_password_works_typed_with_spaces_and_capitals(agent_client, agent):
    made = agent_client.post("/api/v1/devices/app-passwords", {"label": "P"}, format="json")
    typed = made.json()["password"].upper().replace("-", " ")
    phone = DavClient(agent, typed)
    assert phone.propfind(phone.book).status_code == 207
