from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.db import connection

from calls.models import CallLog
from calls.tests.factories import call_payload, make_call
from contacts.tests.factories import make_contact
from crm.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

CALLS = "/api/v1/calls"
CALL_KEYS = {
    "id",
    "user",
    "contact",
    "phone",
    "phone_normalized",
    "direction",
    "started_at",
    "duration_seconds",
    "device_id",
    "client_call_id",
    "version",
}


def test_it_uploads_one_call_and_links_it(agent_client, agent):
    contact = make_contact(phone="+12022345678")
    response = agent_client.post(CALLS, call_payload(phone="(202) 234-5678"), format="json")
    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert (body["created"], body["duplicates"]) == (1, 0)
    assert body["results"][0]["index"] == 0 and body["results"][0]["status"] == "created"
    call = CallLog.objects.get(pk=body["results"][0]["id"])
    assert (call.user, call.contact, call.phone_normalized) == (agent, contact, "+12022345678")
    detail = agent_client.get(f"{CALLS}/{call.id}").json()
    assert set(detail) == CALL_KEYS | {"dnc"}  # computed on read (REST only)
    assert detail["contact"] == str(contact.id)


def test_a_batch_sent_twice_is_stored_once(agent_client):
    batch = [call_payload() for _ in range(5)] + [call_payload(client_call_id="")]
    first = agent_client.post(CALLS, batch, format="json").json()
    second = agent_client.post(CALLS, batch, format="json").json()
    assert (first["created"], first["duplicates"]) == (6, 0)
    assert (second["created"], second["duplicates"]) == (0, 6)
    assert [r["id"] for r in first["results"]] == [r["id"] for r in second["results"]]
    assert {r["status"] for r in second["results"]} == {"duplicate"}
    assert CallLog.objects.count() == 6


def test_overlapping_batches_and_in_batch_repeats(agent_client):
    calls = [call_payload() for _ in range(6)]
    agent_client.post(CALLS, calls[:4], format="json")
    body = agent_client.post(CALLS, [*calls[2:], calls[5]], format="json").json()
    assert [r["status"] for r in body["results"]] == [
        "duplicate",
        "duplicate",
        "created",
        "created",
        "duplicate",
    ]
    assert body["results"][2]["id"] != body["results"][3]["id"]
    assert body["results"][3]["id"] == body["results"][4]["id"]
    assert CallLog.objects.count() == 6


def test_without_client_ids_the_natural_key_identifies_a_call(agent_client):
    call = call_payload(client_call_id="", device_id="")
    same_instant_other_zone = dict(
        call,
        started_at=datetime.fromisoformat(call["started_at"])
        .astimezone(datetime.now().astimezone().tzinfo or UTC)
        .isoformat(),
    )
    agent_client.post(CALLS, call, format="json")
    body = agent_client.post(CALLS, same_instant_other_zone, format="json").json()
    assert body["duplicates"] == 1
    other_direction = dict(call, direction="incoming")
    assert agent_client.post(CALLS, other_direction, format="json").json()["created"] == 1


def test_the_same_call_ids_of_two_users_are_two_calls(agent_client, client_for, other_agent):
    call = call_payload()
    agent_client.post(CALLS, call, format="json")
    body = client_for(other_agent).post(CALLS, call, format="json").json()
    assert body["created"] == 1


def test_an_invalid_item_fails_the_whole_batch(agent_client):
    batch = [
        call_payload(),
        call_payload(direction="sideways"),
        call_payload(),
        call_payload(duration_seconds=-1, started_at="yesterday"),
    ]
    error = assert_error(agent_client.post(CALLS, batch, format="json"), 400, "validation_error")
    assert set(error["details"]["items"]) == {"1", "3"}
    assert set(error["details"]["items"]["3"]) == {"duration_seconds", "started_at"}
    assert CallLog.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("started_at", None),
        ("started_at", "2026-01-01T10:00:00"),  # no timezone
        ("started_at", (datetime.now(UTC) + timedelta(days=1)).isoformat()),
        ("duration_seconds", "60"),
        ("duration_seconds", 1.5),
        ("direction", None),
        ("phone", 12345),
        ("client_call_id", "x" * 129),
    ],
)
def test_it_rejects_bad_fields(agent_client, field, value):
    payload = call_payload(**{field: value})
    if value is None:
        payload.pop(field)
    error = assert_error(agent_client.post(CALLS, [payload], format="json"), 400)
    assert field in error["details"]["items"]["0"]


def test_every_android_direction_is_accepted(agent_client):
    batch = [
        call_payload(direction=d)
        for d in ("incoming", "outgoing", "missed", "rejected", "blocked", "voicemail")
    ]
    assert agent_client.post(CALLS, batch, format="json").json()["created"] == 6


def test_private_numbers_are_stored_unlinked(agent_client):
    body = agent_client.post(
        CALLS, [call_payload(phone=""), call_payload(phone="Private"), call_payload(phone="*86")]
    ).json()
    assert body["created"] == 3
    assert set(CallLog.objects.values_list("phone_normalized", flat=True)) == {""}
    assert CallLog.objects.filter(contact__isnull=False).count() == 0


def test_the_uploader_is_always_the_authenticated_user(agent_client, agent, other_agent):
    error = assert_error(
        agent_client.post(CALLS, call_payload(user_id=str(other_agent.id)), format="json"), 400
    )
    assert "user_id" in error["details"]["items"]["0"]
    body = agent_client.post(CALLS, call_payload(user_id=str(agent.id)), format="json").json()
    assert CallLog.objects.get(pk=body["results"][0]["id"]).user == agent


def test_more_than_5000_calls_is_413(agent_client):
    batch = [call_payload() for _ in range(5001)]
    error = assert_error(agent_client.post(CALLS, batch, format="json"), 413, "payload_too_large")
    assert error["details"]["limit"] == 5000
    assert CallLog.objects.count() == 0


def test_a_batch_of_5000_is_accepted_in_few_queries(agent_client, django_assert_max_num_queries):
    batch = [call_payload() for _ in range(5000)]
    # user, savepoint, version, staging table, insert (after a COPY), activity, release; the
    # tighter count and a re-send are in test_ingest.py
    with django_assert_max_num_queries(14):
        body = agent_client.post(CALLS, batch, format="json").json()
    assert body["created"] == 5000


def test_a_body_that_is_not_a_call_is_400(agent_client):
    assert_error(agent_client.post(CALLS, "just a string", format="json"), 400)
    error = assert_error(agent_client.post(CALLS, [1, None], format="json"), 400)
    assert set(error["details"]["items"]) == {"0", "1"}


def test_a_viewer_cannot_upload(viewer_client):
    assert_error(viewer_client.post(CALLS, call_payload(), format="json"), 403)


def test_everyone_signed_in_reads_all_calls(agent, other_agent, client_for, viewer):
    make_call(user=other_agent)
    for user in (agent, viewer):
        assert client_for(user).get(CALLS).json()["count"] == 1


def test_list_filters(agent_client, agent, other_agent):
    contact = make_contact(phone="+12022345678")
    make_call(
        user=agent, phone="+12022345678", direction="incoming", started_at="2026-01-01T09:00:00Z"
    )
    make_call(
        user=other_agent,
        phone="+4915198765401",
        direction="missed",
        started_at="2026-02-01T09:00:00Z",
    )

    def names(**params):
        return [c["phone_normalized"] for c in agent_client.get(CALLS, params).json()["results"]]

    assert names() == ["+4915198765401", "+12022345678"]  # newest first
    assert names(user=str(agent.id)) == ["+12022345678"]
    assert names(contact=str(contact.id)) == ["+12022345678"]
    assert names(direction="missed") == ["+4915198765401"]
    assert names(since="2026-01-15T00:00:00Z") == ["+4915198765401"]
    assert names(until="2026-01-15T00:00:00Z") == ["+12022345678"]
    assert names(phone="(202) 234-5678") == ["+12022345678"]
    assert_error(agent_client.get(CALLS, {"direction": "sideways"}), 400)
    assert_error(agent_client.get(CALLS, {"since": "soon"}), 400)


def test_list_query_count_is_constant(agent_client, agent, django_assert_num_queries):
    make_call(user=agent)
    # 1. user  2. planner estimate  3. page with its count  4. the page's numbers against the
    # do-not-call entries
    with django_assert_num_queries(4):
        agent_client.get(CALLS)
    for _ in range(10):
        make_call(user=agent)
    with django_assert_num_queries(3):  # the estimate is reused for a few seconds
        assert len(agent_client.get(CALLS).json()["results"]) == 11


def test_calls_are_append_only(agent_client, agent):
    call = make_call(user=agent)
    assert_error(agent_client.patch(f"{CALLS}/{call.id}", {}, format="json"), 405)
    assert_error(agent_client.delete(f"{CALLS}/{call.id}"), 405)


def test_unknown_ids_are_404(agent_client):
    assert_error(agent_client.get(f"{CALLS}/not-a-uuid"), 404)
    assert_error(agent_client.get(f"{CALLS}/contact/00000000-0000-0000-0000-000000000000"), 404)


def test_keyset_paging_walks_every_call_once_newest_first(agent_client, agent):
    made = [make_call(user=agent) for _ in range(7)]
    # Two calls at the same instant must still both come out.
    make_call(user=agent, started_at=made[3].started_at.isoformat(), direction="missed")
    url, seen = f"{CALLS}?cursor=&limit=3", []
    while url:
        body = agent_client.get(url).json()
        assert "count" not in body
        seen += [(c["started_at"], c["id"]) for c in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 8
    assert seen == sorted(seen, reverse=True)


def test_keyset_paging_respects_filters(agent_client, agent, other_agent):
    make_call(user=agent)
    make_call(user=other_agent)
    body = agent_client.get(CALLS, {"cursor": "", "user": str(agent.id)}).json()
    assert [c["user"] for c in body["results"]] == [str(agent.id)]
    assert_error(agent_client.get(CALLS, {"cursor": "garbage"}), 400, "invalid_cursor")


def test_one_contacts_calls_are_counted_with_their_page(agent_client, agent):
    from django.test.utils import CaptureQueriesContext

    contact = make_contact(actor=agent)
    for n in range(3):
        make_call(user=agent, phone=contact.phone_normalized, client_call_id=f"c{n}")
    make_call(user=agent)  # someone else's number
    for url in (f"{CALLS}?contact={contact.id}&limit=2", f"{CALLS}/contact/{contact.id}?limit=2"):
        with CaptureQueriesContext(connection) as queries:
            body = agent_client.get(url).json()
        assert body["count"] == 3 and len(body["results"]) == 2
        sql = [q["sql"] for q in queries.captured_queries]
        assert not [s for s in sql if s.startswith(("EXPLAIN", "SELECT COUNT(*) AS"))], sql
        assert agent_client.get(body["next"]).json()["results"][0]["contact"] == str(contact.id)


def test_one_contacts_calls_alone_answer_as_the_filtered_list_does(
    agent_client, agent, django_assert_max_num_queries
):
    """?contact=<id> alone is answered by one compiled, prepared statement (ContactCalls);
    with any other filter named (an empty one filters nothing) by the filter set: the same
    pages, counts, links and errors."""
    contact = make_contact(actor=agent)
    base = datetime(2026, 5, 1, 12, tzinfo=UTC)
    for n in range(5):
        make_call(
            user=agent, phone=contact.phone_normalized, client_call_id=f"mine-{n}",
            started_at=(base + timedelta(minutes=n % 3)).isoformat(),  # ties: id breaks them
        )  # fmt: skip
    make_call(user=agent)  # someone else's number
    for page in (1, 2, 3):
        query = {"contact": str(contact.id), "limit": 2, "page": page}
        # The signed-in user, the page with its count, the page's numbers against DNC.
        with django_assert_max_num_queries(3):
            fast = agent_client.get(CALLS, query)
        filtered = agent_client.get(CALLS, {**query, "direction": ""})
        assert fast.status_code == filtered.status_code == 200
        fast, filtered = fast.json(), filtered.json()
        assert fast["count"] == filtered["count"] == 5
        assert fast["results"] == filtered["results"] and len(fast["results"]) == (
            1 if page == 3 else 2
        )
        assert [bool(fast[k]) for k in ("next", "previous")] == [page < 3, page > 1]
    assert_error(agent_client.get(CALLS, {"contact": str(contact.id), "page": 4, "limit": 2}), 404)
    assert_error(agent_client.get(CALLS, {"contact": "not-an-id"}), 400)
    nobody = agent_client.get(CALLS, {"contact": "00000000-0000-4000-8000-000000000000"}).json()
    assert (nobody["count"], nobody["results"]) == (0, [])


def test_offset_pages_stop_where_the_offset_would_pass_ten_thousand_rows(agent_client, agent):
    make_call(user=agent, phone="+12025550143")
    # Page 201 of 50 starts at row 10,000: allowed (empty here, so the usual 404).
    assert_error(agent_client.get(CALLS, {"limit": 50, "page": 201}), 404)
    error = assert_error(agent_client.get(CALLS, {"limit": 50, "page": 202}), 400, "page_too_deep")
    assert "cursor" in error["message"] and "page" in error["details"]
    assert_error(agent_client.get(CALLS, {"limit": 1000, "page": 12}), 400, "page_too_deep")
    assert_error(agent_client.get(CALLS, {"page": 10**30}), 400, "page_too_deep")
    # Keyset paging has no such limit.
    assert agent_client.get(CALLS, {"cursor": "", "limit": 1}).status_code == 200
