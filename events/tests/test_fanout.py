"""Any app node's write reaches the streams of every other node: two production server
processes against one database, a stream on one, a write through the other's API."""

import pytest

from crm.tests.processes import AppServer
from events.tests.conftest import token

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_write_on_one_node_pokes_a_stream_held_by_another(agent):
    with AppServer(workers=1) as node_a, AppServer(workers=1) as node_b:
        access = token(agent)
        stream = node_a.stream(access)
        assert stream.status == 200
        status, body, _ = node_b.request(
            "POST", "/api/v1/contacts", {"name": "Cross Node", "phone": "+12025550199"}, access
        )
        assert status == 201, body
        event = stream.next_event(timeout=5)
        assert event["event"] == "contacts"
        assert event["data"] == {"version": body["version"]}
        # and the other way round, for calls
        back = node_b.stream(access)
        call = {"phone": "+12025550199", "direction": "outgoing",
                "started_at": "2026-01-05T10:00:00Z", "duration_seconds": 12}  # fmt: skip
        status, body, _ = node_a.request("POST", "/api/v1/calls", call, access)
        assert status == 201, body
        assert back.next_event(timeout=5)["event"] == "calls"
        stream.close()
        back.close()
