"""Input that once answered 500 (found by a fuzzer and by hand): each is a 4xx in the error
shape now, and nothing is stored."""

import json

import pytest

from calls.models import CallLog
from calls.tests.factories import call_payload, make_call
from contacts.models import Contact
from contacts.tests.factories import make_contact
from crm.tests.helpers import assert_error
from syncaudit.models import SyncRecord

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/contacts", "/api/v1/contacts/search?q=a", "/api/v1/calls", "/api/v1/users",
         "/api/v1/sync/audit", "/api/v1/devices"]  # fmt: skip
DEEP = "[" * 1000 + "]" * 1000


def post_raw(client, path: str, text: str):
    """A body sent exactly as written (the test client would re-encode a Python value)."""
    return client.generic("POST", path, text.encode(), content_type="application/json")


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("page", [str(2**63), str(2**64 + 1), "9" * 40])
def test_page_numbers_past_any_end_are_404(admin_client, path, page):
    separator = "&" if "?" in path else "?"
    response = admin_client.get(f"{path}{separator}page={page}")
    if path == "/api/v1/calls":  # offset pages stop at 10,000 rows there: keyset beyond
        assert_error(response, 400, "page_too_deep")
    else:
        assert_error(response, 404)


@pytest.mark.parametrize("cursor", ["cD14", "bz0xJnA9eA==", "junk", " ", "cD0yMDI0"])
def test_a_calls_cursor_the_server_did_not_sign_is_invalid(agent_client, agent, cursor):
    make_call(user=agent)
    assert_error(agent_client.get("/api/v1/calls", {"cursor": cursor}), 400, "invalid_cursor")


def test_the_calls_cursors_the_server_gives_work(agent_client, agent):
    for _ in range(3):
        make_call(user=agent)
    first = agent_client.get("/api/v1/calls", {"cursor": "", "limit": 2}).json()
    second = agent_client.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1


@pytest.mark.parametrize("path", ["/api/v1/calls", "/api/v1/contacts", "/api/v1/sync"])
def test_json_nested_a_thousand_deep_is_400(agent_client, path):
    assert_error(post_raw(agent_client, path, DEEP), 400, "parse_error")


@pytest.mark.parametrize("field", ["phone", "device_id", "client_call_id"])
def test_a_lone_surrogate_in_a_call_is_400(agent_client, field):
    body = json.dumps([call_payload(**{field: "x\ud800y"})])  # ASCII-escaped: "\ud800"
    assert_error(post_raw(agent_client, "/api/v1/calls", body), 400)
    assert not CallLog.objects.exists()


def test_a_surrogate_pair_is_a_character_and_is_kept(agent_client):
    body = json.dumps({"name": "Grinning \U0001f600", "phone": "+12022345678"})
    assert "\\ud83d\\ude00" in body
    response = post_raw(agent_client, "/api/v1/contacts", body)
    assert response.status_code == 201
    assert response.json()["name"] == "Grinning \U0001f600"


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_times_at_the_edge_of_the_calendar_are_400(agent_client, when):
    assert_error(agent_client.post("/api/v1/calls", [call_payload(started_at=when)]), 400)
    body = {"name": "Edge", "phone": "+12022345678", "created_at": when}
    assert_error(agent_client.post("/api/v1/contacts", body), 400)
    for path, name in [("/api/v1/calls", "since"), ("/api/v1/calls", "until"),
                       ("/api/v1/contacts", "updated_since")]:  # fmt: skip
        assert_error(agent_client.get(path, {name: when}), 400)
    assert not CallLog.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize("duration", ["1e400", "-1e400", "1e20"])
def test_an_endless_duration_is_400(agent_client, duration):
    text = json.dumps([call_payload()]).replace(
        '"duration_seconds": 60', f'"duration_seconds": {duration}'
    )
    error = assert_error(post_raw(agent_client, "/api/v1/calls", text), 400)
    assert "duration_seconds" in error["details"]["items"]["0"]


def test_a_lone_surrogate_anywhere_in_a_body_is_400(admin_client):
    body = '{"email": "a@example.com", "name": "\\udc00", "password": "x-Long-enough-9"}'
    assert_error(post_raw(admin_client, "/api/v1/users", body), 400, "parse_error")


def test_sync_writes_its_audit_row_whatever_fails(agent_client, agent):
    device = {"id": "pixel", "platform": "android", "app_version": "1"}
    bodies = [
        json.dumps({"device": device, "cursor": "a\u0000b"}),  # NUL: PostgreSQL text refuses it
        json.dumps({"device": device, "cursor": "a\ud800b"}),  # a lone surrogate
        DEEP,
    ]
    for body in bodies:
        response = post_raw(agent_client, "/api/v1/sync", body)
        assert 400 <= response.status_code < 500, response.content[:200]
    assert SyncRecord.objects.filter(user=agent).count() == len(bodies)
    assert SyncRecord.objects.filter(cursor_before="a\ufffdb").count() == 1


def test_a_sync_edit_of_a_contact_deleted_meanwhile_is_a_conflict(agent_client, agent):
    contact = make_contact(actor=agent)
    base = contact.version
    body = {"id": str(contact.id), "base_version": base, "deleted": True}
    device = {"id": "pixel", "platform": "android", "app_version": "1"}
    agent_client.post("/api/v1/sync", {"device": device, "contacts": [body]}, format="json")
    edit = {"id": str(contact.id), "base_version": base, "name": "Renamed"}
    answer = agent_client.post(
        "/api/v1/sync", {"device": device, "contacts": [edit]}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json()["contacts"]["results"][0]["result"] == "conflict"


@pytest.mark.parametrize(
    ("path", "name"),
    [("/api/v1/calls", "since"), ("/api/v1/calls", "until"), ("/api/v1/contacts", "updated_since")],
)
def test_a_filter_time_without_a_timezone_is_400_as_everywhere_else(agent_client, path, name):
    error = assert_error(agent_client.get(path, {name: "2026-01-15T00:00:00"}), 400)
    assert "timezone" in error["details"][name][0]
    assert agent_client.get(path, {name: "2026-01-15T00:00:00Z"}).status_code == 200


@pytest.mark.parametrize("limit", ["0", "-1", "x", "1.5", "null"])
def test_a_limit_that_is_not_a_whole_number_from_1_is_400(agent_client, limit):
    for path in ("/api/v1/contacts", "/api/v1/calls"):
        error = assert_error(agent_client.get(path, {"limit": limit}), 400, "validation_error")
        assert "limit" in error["details"]
    assert agent_client.get("/api/v1/calls", {"limit": "", "cursor": ""}).status_code == 200
    assert agent_client.get("/api/v1/contacts", {"limit": "5000"}).status_code == 200  # capped


@pytest.mark.parametrize("depth", [65, 500, 850])
def test_deep_bodies_are_400_with_an_emoji_escape_too_and_sync_audits_them(agent_client, depth):
    # An escape anywhere makes the parser look at every string as well: no recursion there.
    body = "[" * depth + '"\\ud83d\\ude00"' + "]" * depth
    for path in ("/api/v1/calls", "/api/v1/sync"):
        assert_error(post_raw(agent_client, path, body), 400, "parse_error")
    assert SyncRecord.objects.count() == 1


def test_bodies_as_deep_as_the_api_needs_are_fine(agent_client):
    nested = {"device": {"id": "pixel"}, "contacts": [{"name": "A", "phone": "+12022345678"}]}
    assert agent_client.post("/api/v1/sync", nested, format="json").status_code == 200
