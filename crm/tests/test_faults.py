"""A database connection killed in the middle of a request: a clean, retryable error,
nothing half-written, and the retry succeeds."""

import threading
import time

import psycopg
import pytest
from django.db import connection, connections

from calls.models import CallLog
from calls.tests.factories import call_payload
from contacts.models import Contact
from crm.tests.helpers import assert_error
from ledger.versioning import feed_ensure

pytestmark = pytest.mark.django_db(transaction=True)


def _raw_connection():
    d = connection.settings_dict
    return psycopg.connect(
        host=d["HOST"], port=d["PORT"], user=d["USER"], dbname=d["NAME"], autocommit=False
    )


def _kill_the_request_waiting_on_feed(feed: str) -> None:
    """While the test holds the feed's version lock (so the request blocks inside its
    transaction), terminate the request's backend. Polls from its own autocommit connection:
    pg_stat_activity is a frozen snapshot inside a transaction."""
    with _raw_connection() as watcher, watcher.cursor() as cursor:
        watcher.autocommit = True
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE %s AND pid <> pg_backend_pid()",
                ["%ledger_changefeed%"],
            )
            rows = cursor.fetchall()
            if rows:
                for (pid,) in rows:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                return
            time.sleep(0.05)
    raise AssertionError(f"no request blocked on the {feed} feed")


def _run_in_thread(fn):
    box = {}

    def target():
        try:
            box["response"] = fn()
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, box


@pytest.mark.parametrize(
    ("url", "feed", "body", "model"),
    [
        ("/api/v1/calls", "calls", [call_payload() for _ in range(50)], CallLog),
        (
            "/api/v1/sync",
            "contacts",
            {"device": {"id": "p"}, "contacts": [{"name": "N", "phone": "+12022345678"}]},
            Contact,
        ),
    ],
)
def test_a_killed_connection_fails_cleanly_and_the_retry_succeeds(
    agent_client, url, feed, body, model
):
    feed_ensure(feed)  # a transactional test starts from a flushed database
    holder = _raw_connection()
    try:
        with holder.cursor() as cursor:
            cursor.execute("UPDATE ledger_changefeed SET version = version WHERE name = %s", [feed])
        agent_client.raise_request_exception = False
        thread, box = _run_in_thread(lambda: agent_client.post(url, body, format="json"))
        _kill_the_request_waiting_on_feed(feed)
        holder.rollback()
        thread.join(timeout=30)
    finally:
        holder.close()
    error = assert_error(box["response"], 503, "service_unavailable")
    assert "retry" in error["message"].lower()
    assert model.objects.count() == 0

    retry = agent_client.post(url, body, format="json")
    assert retry.status_code in (200, 201), retry.json()
    assert model.objects.count() == (50 if model is CallLog else 1)
