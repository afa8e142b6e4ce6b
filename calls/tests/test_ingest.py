"""call_logs_ingest itself: identity, duplicates and linking through the COPY + staging-table
write path."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections, transaction

from calls.models import CallLog
from calls.services import call_logs_ingest
from calls.tests.factories import call_payload
from calls.validation import CallInput
from contacts.tests.factories import make_contact

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def call(n=0, **overrides) -> CallInput:
    fields = {
        "phone": "+1 202 555 0100",
        "direction": "outgoing",
        "started_at": T0 + timedelta(minutes=n),
        "duration_seconds": 30,
        "device_id": "pixel-1",
        "client_call_id": f"c{n}",
    }
    fields.update(overrides)
    return CallInput(**fields)


def statuses(result):
    return [r["status"] for r in result.results]


def test_mixed_identities_pre_existing_rows_and_repeats_in_one_batch(agent):
    first = call_logs_ingest(
        user=agent, calls=[call(1), call(2, client_call_id=""), call(3, client_call_id="")]
    )
    assert statuses(first) == ["created"] * 3
    batch = [
        call(1),  # exists (client key)
        call(4),  # new
        call(2, client_call_id=""),  # exists (natural key)
        call(4),  # repeat of a new one in this batch
        call(5, client_call_id=""),  # new
        call(2, client_call_id=""),  # repeat of an existing one
        call(5, client_call_id=""),  # repeat of a new one
        # The natural key of an existing call, but sent with a call id: another identity.
        call(3, client_call_id="late-id"),
    ]
    result = call_logs_ingest(user=agent, calls=batch, indexes=list(range(10, 18)))
    assert statuses(result) == [
        "duplicate",
        "created",
        "duplicate",
        "duplicate",
        "created",
        "duplicate",
        "duplicate",
        "created",
    ]
    assert (result.created, result.duplicates) == (3, 5)
    assert [r["index"] for r in result.results] == list(range(10, 18))
    ids = [r["id"] for r in result.results]
    assert ids[0] == first.results[0]["id"]
    assert ids[2] == ids[5] == first.results[1]["id"]
    assert ids[1] == ids[3] and ids[4] == ids[6]
    assert CallLog.objects.count() == 6
    for r in result.results:  # every id is a stored row of this batch's calls
        assert CallLog.objects.filter(pk=r["id"], user=agent).exists()


def test_results_point_at_the_stored_rows(agent):
    batch = [call(n, client_call_id="" if n % 2 else f"k{n}") for n in range(50)]
    result = call_logs_ingest(user=agent, calls=batch)
    stored = {str(c.id): c for c in CallLog.objects.all()}
    for item, r in zip(batch, result.results, strict=True):
        row = stored[r["id"]]
        assert (row.started_at, row.client_call_id) == (item.started_at, item.client_call_id)


def test_calls_link_to_the_live_contact_holding_the_number(agent):
    live = make_contact(phone="+12025550100")
    gone = make_contact(phone="+12025550111")
    gone.deleted_at = T0
    gone.save(update_fields=["deleted_at"])
    result = call_logs_ingest(
        user=agent,
        calls=[
            call(1, phone="(202) 555-0100"),
            call(2, phone="+1 202 555 0111"),  # only a deleted contact has it
            call(3, phone=""),  # private number
            call(4, phone="*86"),  # short code
            call(5, phone="+1 202 555 0199"),  # nobody's number
        ],
    )
    contact_of = dict(
        CallLog.objects.filter(pk__in=[r["id"] for r in result.results]).values_list(
            "client_call_id", "contact_id"
        )
    )
    assert contact_of == {"c1": live.id, "c2": None, "c3": None, "c4": None, "c5": None}


ODD_TEXT = [
    "tab\there",
    "back\\slash\\N",
    "new\nline\r",
    "\\.",
    "ünïcødé 名前 📞",
    "quote\"'",
    "x" * 128,
]


@pytest.mark.parametrize("text", ODD_TEXT)
def test_any_text_goes_through_the_write_path_unchanged(agent, text):
    phone = (text * 5)[:64]
    result = call_logs_ingest(
        user=agent, calls=[call(1, phone=phone, device_id=text, client_call_id=text)]
    )
    row = CallLog.objects.get(pk=result.results[0]["id"])
    assert (row.phone, row.device_id, row.client_call_id) == (phone, text, text)
    again = call_logs_ingest(user=agent, calls=[call(1, device_id=text, client_call_id=text)])
    assert statuses(again) == ["duplicate"]
    assert again.results[0]["id"] == result.results[0]["id"]


def test_two_batches_in_one_transaction_do_not_mix(agent, other_agent):
    with transaction.atomic():
        a = call_logs_ingest(user=agent, calls=[call(n) for n in range(3)])
        b = call_logs_ingest(user=other_agent, calls=[call(n) for n in range(2)])
    assert (a.created, b.created) == (3, 2)
    assert CallLog.objects.filter(user=agent).count() == 3
    assert CallLog.objects.filter(user=other_agent).count() == 2


def test_a_failed_batch_leaves_nothing_behind_for_the_next(agent):
    with pytest.raises(RuntimeError), transaction.atomic():
        call_logs_ingest(user=agent, calls=[call(n) for n in range(3)])
        raise RuntimeError("the request failed after the insert")
    result = call_logs_ingest(user=agent, calls=[call(7)])
    assert statuses(result) == ["created"]
    assert list(CallLog.objects.values_list("client_call_id", flat=True)) == ["c7"]


def test_a_batch_of_5000_takes_a_constant_handful_of_queries(
    agent_client, django_assert_max_num_queries
):
    batch = [call_payload() for _ in range(5000)]
    # user, savepoint, version, staging table, insert (the COPY before it is not a query
    # Django sees), activity, release
    with django_assert_max_num_queries(8):
        body = agent_client.post("/api/v1/calls", batch, format="json").json()
    assert body["created"] == 5000
    # Sent again: the read-back of the existing rows adds one query per identity kind.
    batch[0]["client_call_id"] = ""
    with django_assert_max_num_queries(9):
        body = agent_client.post("/api/v1/calls", batch, format="json").json()
    assert (body["created"], body["duplicates"]) == (1, 4999)


@pytest.mark.django_db(transaction=True)
def test_overlapping_uploads_at_once_neither_fail_nor_duplicate(agent, client_for):
    calls = [call_payload(client_call_id="" if n % 3 == 0 else f"k{n}") for n in range(300)]
    batches = [calls[:200], calls[100:], calls[50:250]]
    barrier = threading.Barrier(len(batches))
    answers, errors = [None] * len(batches), []

    def upload(i):
        try:
            client = client_for(agent)
            barrier.wait()
            answers[i] = client.post("/api/v1/calls", batches[i], format="json")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [a.status_code for a in answers] == [201] * len(batches)
    assert CallLog.objects.count() == len(calls)
    assert sum(a.json()["created"] for a in answers) == len(calls)
    id_of = {}
    for batch, answer in zip(batches, answers, strict=True):
        for item, r in zip(batch, answer.json()["results"], strict=True):
            key = (item["client_call_id"], item["started_at"])
            assert id_of.setdefault(key, r["id"]) == r["id"]
    assert set(id_of.values()) == {str(pk) for pk in CallLog.objects.values_list("pk", flat=True)}
