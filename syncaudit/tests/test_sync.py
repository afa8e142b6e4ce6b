from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest

from calls.models import CallLog
from calls.tests.factories import call_payload
from contacts.models import Contact
from contacts.services import contact_update
from contacts.tests.factories import make_contact
from crm.tests.helpers import assert_error
from syncaudit.models import Device, SyncRecord

pytestmark = pytest.mark.django_db

SYNC = "/api/v1/sync"
DEVICE = {"id": "pixel-7-abc", "platform": "android", "app_version": "1.4.0"}
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def sync(client, **body):
    body.setdefault("device", DEVICE)
    return client.post(SYNC, body, format="json")


def test_a_first_sync_pushes_then_pulls_everything(agent_client, agent):
    existing = make_contact(name="Already there")
    response = sync(
        agent_client,
        cursor=None,
        contacts=[{"name": "New", "phone": "+12022345678", "client_id": "local-1"}],
        calls=[call_payload(phone="+12022345678")],
    )
    assert response.status_code == HTTPStatus.OK, response.json()
    body = response.json()
    assert set(body) == {"contacts", "calls", "audit_id"}
    [result] = body["contacts"]["results"]
    assert result["result"] == "created" and result["client_id"] == "local-1"
    assert result["index"] == 0
    new_id = result["id"]
    pulled = {c["id"] for c in body["contacts"]["changes"]}
    assert pulled == {new_id, str(existing.id)}
    assert body["contacts"]["has_more"] is False
    assert body["calls"] == {"created": 1, "duplicates": 0, "errors": {}}
    assert CallLog.objects.get().contact_id is not None

    record = SyncRecord.objects.get(pk=body["audit_id"])
    assert (record.user, record.outcome, record.device.device_id) == (agent, "ok", DEVICE["id"])
    assert (record.contacts_pushed, record.contacts_created, record.calls_created) == (1, 1, 1)
    assert record.changes_pulled == 2
    assert record.cursor_after == body["contacts"]["cursor"]
    device = Device.objects.get()
    assert (device.platform, device.app_version, device.user) == ("android", "1.4.0", agent)
    assert device.last_cursor == body["contacts"]["cursor"]


def test_older_wins_applies_to_pushed_contacts(agent_client, other_agent):
    theirs = make_contact(
        actor=other_agent, name="Theirs", phone="+12022345678", created_at=T0 + timedelta(days=2)
    )
    body = sync(
        agent_client,
        contacts=[
            {
                "name": "Mine, older",
                "phone": "202-234-5678",
                "created_at": T0.isoformat(),
                "client_id": 7,
            },
            {
                "name": "Younger",
                "phone": "+12022345678",
                "created_at": (T0 + timedelta(days=3)).isoformat(),
            },
        ],
    ).json()
    results = body["contacts"]["results"]
    assert [r["result"] for r in results] == ["replaced", "existing"]
    assert {r["id"] for r in results} == {str(theirs.id)}
    assert results[0]["client_id"] == 7
    theirs.refresh_from_db()
    assert theirs.name == "Mine, older"


def test_edits_and_deletes_apply_with_a_current_base_version(agent_client, agent):
    a = make_contact(actor=agent, name="A")
    b = make_contact(actor=agent, name="B")
    first = sync(agent_client).json()
    body = sync(
        agent_client,
        cursor=first["contacts"]["cursor"],
        contacts=[
            {"id": str(a.id), "base_version": a.version, "name": "A2"},
            {"id": str(b.id), "base_version": b.version, "deleted": True},
        ],
    ).json()
    assert [r["result"] for r in body["contacts"]["results"]] == ["updated", "deleted"]
    changes = {c["id"]: c for c in body["contacts"]["changes"]}
    assert changes[str(a.id)]["name"] == "A2"
    assert changes[str(b.id)]["deleted"] is True


def test_a_stale_edit_is_a_conflict_and_the_server_row_comes_back(agent_client, agent):
    contact = make_contact(actor=agent, name="Original")
    base = contact.version
    first = sync(agent_client).json()
    contact_update(actor=agent, contact=contact, name="Server edit")
    # The phone pulls first with a fresh cursor: the server row is still sent for the conflict.
    mid = sync(agent_client, cursor=first["contacts"]["cursor"]).json()
    body = sync(
        agent_client,
        cursor=mid["contacts"]["cursor"],
        contacts=[{"id": str(contact.id), "base_version": base, "name": "Phone edit"}],
    ).json()
    assert body["contacts"]["results"][0]["result"] == "conflict"
    [row] = body["contacts"]["changes"]
    assert row["id"] == str(contact.id) and row["name"] == "Server edit"
    contact.refresh_from_db()
    assert contact.name == "Server edit"
    assert SyncRecord.objects.get(pk=body["audit_id"]).contacts_conflict == 1


def test_a_bad_item_does_not_stop_the_others(agent_client, agent, other_agent):
    theirs = make_contact(actor=other_agent)
    body = sync(
        agent_client,
        contacts=[
            {"name": "", "phone": "nonsense", "client_id": "x"},
            {"name": "Good", "phone": "+12022345678"},
            {"id": str(theirs.id), "base_version": theirs.version, "name": "Not mine"},
            {"id": "00000000-0000-0000-0000-000000000000", "base_version": 1, "name": "?"},
            {"id": str(theirs.id), "name": "no base version"},
            "not an object",
        ],
        calls=[call_payload(), call_payload(direction="sideways"), call_payload()],
    ).json()
    results = body["contacts"]["results"]
    assert [r["result"] for r in results] == [
        "error",
        "created",
        "error",
        "error",
        "error",
        "error",
    ]
    assert set(results[0]["errors"]) == {"name", "phone"} and results[0]["client_id"] == "x"
    assert body["calls"]["created"] == 2
    assert set(body["calls"]["errors"]) == {"1"}
    assert "direction" in body["calls"]["errors"]["1"]
    record = SyncRecord.objects.get(pk=body["audit_id"])
    assert (record.contacts_error, record.contacts_created, record.calls_error) == (5, 1, 1)


def test_retrying_the_same_sync_is_harmless(agent_client, agent):
    contact = make_contact(actor=agent, name="Before")
    request = {
        "contacts": [
            {"name": "New", "phone": "+12022345678", "client_id": "n1"},
            {"id": str(contact.id), "base_version": contact.version, "name": "After"},
        ],
        "calls": [call_payload(), call_payload(client_call_id="")],
    }
    first = sync(agent_client, **request).json()
    second = sync(agent_client, **request).json()
    assert [r["result"] for r in first["contacts"]["results"]] == ["created", "updated"]
    assert [r["result"] for r in second["contacts"]["results"]] == ["existing", "updated"]
    assert first["contacts"]["results"][0]["id"] == second["contacts"]["results"][0]["id"]
    assert second["calls"] == {"created": 0, "duplicates": 2, "errors": {}}
    contact.refresh_from_db()
    assert contact.name == "After"
    assert Contact.objects.count() == 2 and CallLog.objects.count() == 2
    assert SyncRecord.objects.count() == 2


def test_a_viewer_can_pull_but_not_push(viewer_client):
    make_contact()
    body = sync(viewer_client, contacts=[{"name": "X", "phone": "+12022345678"}]).json()
    assert body["contacts"]["results"][0]["result"] == "error"
    assert len(body["contacts"]["changes"]) == 1


def test_an_invalid_request_is_refused_and_audited(agent_client, agent):
    error = assert_error(agent_client.post(SYNC, {"cursor": None}, format="json"), 400)
    assert "device" in error["details"]
    record = SyncRecord.objects.get()
    assert (record.user, record.outcome, record.error_code) == (
        agent,
        "invalid",
        "validation_error",
    )


def test_a_bad_cursor_refuses_the_whole_sync_and_is_audited(agent_client):
    response = sync(
        agent_client, cursor="nonsense", contacts=[{"name": "New", "phone": "+12022345678"}]
    )
    assert_error(response, 400, "invalid_cursor")
    assert Contact.objects.count() == 0  # nothing half-done: the phone will resync and re-push
    record = SyncRecord.objects.get()
    assert (record.outcome, record.error_code, record.device_ref) == (
        "cursor",
        "invalid_cursor",
        DEVICE["id"],
    )


def test_too_many_items_is_413(agent_client):
    calls = [call_payload() for _ in range(5001)]
    assert_error(sync(agent_client, calls=calls), 413, "payload_too_large")
    assert CallLog.objects.count() == 0


def test_pull_pages_with_has_more(agent_client):
    for _ in range(5):
        make_contact()
    body = sync(agent_client, limit=2).json()
    assert len(body["contacts"]["changes"]) == 2 and body["contacts"]["has_more"] is True
    seen = [c["id"] for c in body["contacts"]["changes"]]
    cursor = body["contacts"]["cursor"]
    while body["contacts"]["has_more"]:
        body = sync(agent_client, cursor=cursor, limit=2).json()
        cursor = body["contacts"]["cursor"]
        seen += [c["id"] for c in body["contacts"]["changes"]]
    assert len(seen) == len(set(seen)) == 5


def test_managers_and_admins_see_every_device_and_others_their_own(
    agent_client, manager_client, admin_client, viewer_client
):
    # The Additions replace v1's 403 for agents: everyone sees (and signs out) their own phones.
    sync(agent_client)
    for client in (manager_client, admin_client, agent_client):
        body = client.get("/api/v1/devices").json()
        assert body["count"] == 1
        device = body["results"][0]
        assert device["device_id"] == DEVICE["id"]
        assert device["app_version"] == "1.4.0" and device["last_sync_at"]
        assert device["last_cursor"]
    assert viewer_client.get("/api/v1/devices").json()["count"] == 0


def test_audit_visibility(agent_client, client_for, other_agent, manager_client, agent):
    sync(agent_client)
    sync(client_for(other_agent), device={"id": "other-phone"})
    mine = agent_client.get("/api/v1/sync/audit").json()
    assert mine["count"] == 1 and mine["results"][0]["user"] == str(agent.id)
    everyone = manager_client.get("/api/v1/sync/audit").json()
    assert everyone["count"] == 2
    by_user = manager_client.get("/api/v1/sync/audit", {"user": str(other_agent.id)}).json()
    assert [r["device"] for r in by_user["results"]] == ["other-phone"]
    by_device = manager_client.get("/api/v1/sync/audit", {"device": DEVICE["id"]}).json()
    assert by_device["count"] == 1


def test_audit_list_query_count_is_constant(
    manager_client, agent_client, django_assert_num_queries
):
    sync(agent_client)
    # 1. user  2. planner estimate  3. page with user and device joined, and its count
    with django_assert_num_queries(3):
        manager_client.get("/api/v1/sync/audit")
    for n in range(4):
        sync(agent_client, device={"id": f"phone-{n}"})
    with django_assert_num_queries(2):  # the estimate is reused for a few seconds
        assert manager_client.get("/api/v1/sync/audit").json()["count"] == 5


def test_a_viewers_pushed_calls_are_refused(viewer_client):
    body = sync(viewer_client, calls=[call_payload()]).json()
    assert body["calls"]["created"] == 0
    assert set(body["calls"]["errors"]) == {"0"}
    assert CallLog.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "parse_error"),
        ("device=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ("[1, 2]", "application/json", 400, "validation_error"),
    ],
)
def test_a_refused_body_is_still_audited(agent_client, agent, data, content_type, status, code):
    response = agent_client.post(SYNC, data=data, content_type=content_type)
    assert_error(response, status, code)
    record = SyncRecord.objects.get()
    assert (record.user, record.outcome, record.error_code) == (agent, "invalid", code)


def test_a_base_version_from_the_future_is_an_error(agent_client, agent):
    contact = make_contact(actor=agent)
    body = sync(
        agent_client,
        contacts=[{"id": str(contact.id), "base_version": contact.version + 100, "name": "X"}],
    ).json()
    [result] = body["contacts"]["results"]
    assert result["result"] == "error" and "base_version" in result["errors"]


def test_a_delete_without_an_id_is_an_error_not_a_create(agent_client):
    body = sync(
        agent_client, contacts=[{"name": "X", "phone": "+12022345678", "deleted": True}]
    ).json()
    assert body["contacts"]["results"][0]["result"] == "error"
    assert Contact.objects.count() == 0


def test_conflicts_echo_the_client_id(agent_client, agent):
    contact = make_contact(actor=agent)
    base = contact.version
    contact_update(actor=agent, contact=contact, name="Server")
    body = sync(
        agent_client,
        contacts=[
            {"id": str(contact.id), "base_version": base, "name": "Phone", "client_id": "L9"}
        ],
    ).json()
    assert body["contacts"]["results"][0] == {
        "index": 0,
        "result": "conflict",
        "client_id": "L9",
        "id": str(contact.id),
        "conflicting_fields": ["name"],
    }


def test_the_audit_record_keeps_each_refused_item_and_why(agent_client, client, admin_user):
    response = sync(
        agent_client, device=DEVICE, cursor=None,
        contacts=[{"name": "Fine", "phone": "+12022345678"}, {"name": "Bad", "phone": "12"}],
        calls=[call_payload(direction="sideways")],
    )  # fmt: skip
    record = SyncRecord.objects.get(pk=response.json()["audit_id"])
    assert (record.outcome, record.contacts_error, record.calls_error) == ("ok", 1, 1)
    assert [(e["kind"], e["index"], sorted(e["errors"])) for e in record.item_errors] == [
        ("contact", 1, ["phone"]), ("call", 0, ["direction"]),
    ]  # fmt: skip
    from django.urls import reverse

    client.force_login(admin_user)  # the back office's page of the record
    page = client.get(reverse("admin:syncaudit_syncrecord_change", args=[record.pk]))
    html = page.content.decode()
    assert "contact 1" in html and "phone:" in html and "call 0" in html
