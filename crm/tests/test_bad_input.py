"""Hostile and odd input gets a clear 4xx (or is stored intact), never a 500."""

import pytest

from contacts.models import Contact
from crm.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 100_000, "phone": "+12022345678"}, "name"),
        ({"name": "nul\x00byte", "phone": "+12022345678"}, "name"),
        ({"name": "bell\x07", "phone": "+12022345678"}, "name"),
        ({"name": "ok", "phone": "+1202234\x005678"}, "phone"),
        ({"name": "ok", "phone": "9" * 100_000}, "phone"),
        ({"name": ["a", "list"], "phone": "+12022345678"}, "name"),
        ({"name": {"an": "object"}, "phone": "+12022345678"}, "name"),
        ({"name": "ok", "phone": 12022345678}, "phone"),  # a number is a client bug, not text
        ({"name": 42, "phone": "+12022345678"}, "name"),
        ({"name": "ok", "phone": "+12022345678", "created_at": "not a date"}, "created_at"),
        ({"name": "ok", "phone": "+12022345678", "created_at": 17}, "created_at"),
    ],
)
def test_contact_fields(agent_client, body, field):
    response = agent_client.post(CONTACTS, body, format="json")
    if field is None:
        assert response.status_code == 201
        return
    error = assert_error(response, 400, "validation_error")
    assert field in error["details"]
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    "name",
    ["Zoë 😀 Ünal", "שלום עולם", "مرحبا", "<script>alert(1)</script>", "'; DROP TABLE x; --"],
)
def test_unusual_names_are_kept_exactly(agent_client, name):
    created = agent_client.post(CONTACTS, {"name": name, "phone": "+12022345678"}, format="json")
    assert created.status_code == 201
    assert agent_client.get(f"{CONTACTS}/{created.json()['id']}").json()["name"] == name


@pytest.mark.parametrize(
    "params",
    [
        {"search": "\x00"},
        {"search": "a\x00b"},
        {"search": "x" * 5000},
        {"created_by": "\x00"},
        {"updated_since": "\x00"},
        {"page": "\x00"},
        {"limit": "-1"},
        {"page": "0"},
    ],
)
def test_contact_list_parameters_never_crash(agent_client, params):
    response = agent_client.get(CONTACTS, params)
    assert response.status_code in (200, 400, 404), response.content[:200]


@pytest.mark.parametrize(
    "params",
    [{"phone": "\x00"}, {"since": "\x00"}, {"direction": "\x00"}, {"contact": "\x00"}],
)
def test_call_list_parameters_never_crash(agent_client, params):
    response = agent_client.get("/api/v1/calls", params)
    assert response.status_code in (200, 400), response.content[:200]


def test_sync_feed_cursor_with_a_nul_is_invalid(agent_client):
    assert_error(
        agent_client.get("/api/v1/sync/contacts", {"cursor": "a\x00b"}), 400, "invalid_cursor"
    )


def test_login_with_nul_bytes_is_a_clean_refusal(anon_client):
    response = anon_client.post(
        "/api/v1/auth/login", {"email": "a\x00@example.com", "password": "x\x00"}, format="json"
    )
    assert response.status_code in (400, 401)
    assert set(response.json()) == {"error"}


def test_sync_with_nul_bytes_in_device_and_items(agent_client):
    body = {
        "device": {"id": "dev\x00ice", "platform": "\x00", "app_version": "1"},
        "contacts": [{"name": "a\x00", "phone": "+12022345678", "client_id": "c\x00"}],
        "calls": [{"phone": "\x00", "direction": "incoming", "started_at": "2026-01-01T00:00:00Z"}],
    }
    response = agent_client.post("/api/v1/sync", body, format="json")
    assert response.status_code in (200, 400), response.content[:300]
    assert set(response.json()) in ({"error"}, {"contacts", "calls", "audit_id"})
