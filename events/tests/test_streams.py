"""GET /api/v1/events against the production server command (gunicorn with uvicorn workers),
a real ASGI server in its own process, on the test database."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections, transaction
from rest_framework_simplejwt.tokens import AccessToken

from accounts.services import user_update
from contacts.services import ContactInput, contact_create
from contacts.tests.factories import make_contact, next_phone
from crm.tests.processes import AppServer
from events.tests.conftest import token as _token
from jobs.services import import_job_cancel, import_job_create
from ledger.versioning import FEEDS, version_next

pytestmark = pytest.mark.django_db(transaction=True)  # the server must see committed rows


def _told(event_id: str) -> dict[str, int]:
    return {feed: int(v) for feed, _, v in (p.partition("=") for p in event_id.split(","))}


def _until(stream, feed: str, timeout: float = 5) -> tuple[dict, list[dict]]:
    """The next event of ``feed``, and the events of other feeds read on the way."""
    others = []
    while True:
        event = stream.next_event(timeout=timeout)
        assert event is not None, "the stream ended"
        if event["event"] == feed:
            return event, others
        others.append(event)


def _only_news(events: list[dict], told: dict[str, int]) -> bool:
    """Every event is about a version the client had not been told about."""
    return all(e["data"]["version"] > told.get(e["event"], -1) for e in events)


def test_a_committed_contact_write_pokes_the_stream_with_its_version(server, agent):
    stream = server.stream(_token(agent))
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    contact = make_contact(actor=agent, name="Poked Person")
    event, _ = _until(stream, "contacts")
    assert event["data"] == {"version": contact.version}
    assert f"contacts={contact.version}" in event["id"]
    assert "Poked" not in str(event)  # a poke carries no contact data
    stream.close()


def test_the_poke_never_arrives_before_the_data_it_announces(server, agent):
    token = _token(agent)
    _, page, _ = server.request("GET", "/api/v1/sync/contacts", token=token)
    cursor = page["cursor"]
    stream = server.stream(token)
    written = threading.Event()
    release = threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                contact_create(
                    actor=agent, item=ContactInput(name="Late Larry", phone=next_phone())
                )
                written.set()
                release.wait(10)  # the version is taken; the commit waits
        finally:
            connections.close_all()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert written.wait(10)
    with pytest.raises(TimeoutError):
        stream.next_event(timeout=1)  # nothing while the write is not committed
    release.set()
    writer.join()
    event = stream.next_event(timeout=5)
    assert event["event"] == "contacts"
    _, pulled, _ = server.request("GET", f"/api/v1/sync/contacts?cursor={cursor}", token=token)
    assert [c["name"] for c in pulled["changes"]] == ["Late Larry"]
    assert pulled["changes"][0]["version"] == event["data"]["version"]
    stream.close()


def test_a_quiet_stream_sends_a_comment_every_heartbeat(server, agent):
    stream = server.stream(_token(agent))
    with pytest.raises(TimeoutError):
        stream.next_event(timeout=2.5)  # EVENTS_HEARTBEAT_SECONDS=1 here
    assert stream.comments.count("ping") >= 2
    stream.close()


def test_last_event_id_pokes_every_feed_that_moved_since(server, agent):
    with transaction.atomic():  # every feed exists (the tests' flush empties the table)
        for feed in FEEDS:
            version_next(feed)
    first = server.stream(_token(agent))
    make_contact(actor=agent)
    seen, _ = _until(first, "contacts")
    first.close()
    missed = make_contact(actor=agent)  # while the phone was away
    again = server.stream(_token(agent), Last_Event_ID=seen["id"])
    event, others = _until(again, "contacts")
    assert event["data"] == {"version": missed.version}
    assert _only_news(others, _told(seen["id"]))
    again.close()
    # Up to date: nothing about contacts is replayed.
    current = server.stream(_token(agent), Last_Event_ID=event["id"])
    replayed = []
    with pytest.raises(TimeoutError):
        while True:
            replayed.append(current.next_event(timeout=1.5))
    assert _only_news(replayed, _told(event["id"]))
    assert "contacts" not in [e["event"] for e in replayed]
    current.close()
    # Unreadable: every feed the server knows is poked (a pull too many, never one too few).
    garbled = server.stream(_token(agent), Last_Event_ID="what?")
    poked = {garbled.next_event(timeout=5)["event"] for _ in FEEDS}
    assert poked == set(FEEDS)
    garbled.close()


def test_a_user_holds_at_most_the_limit_of_streams(server, agent):
    token = _token(agent)
    open_streams = [server.stream(token) for _ in range(3)]
    assert [s.status for s in open_streams] == [200, 200, 200]
    refused = server.stream(token)
    assert refused.status == 429
    assert refused.json()["error"]["code"] == "too_many_streams"
    open_streams[0].close()
    time.sleep(0.5)  # the server notices the closed connection
    again = server.stream(token)
    assert again.status == 200
    for stream in [*open_streams[1:], again]:
        stream.close()


def test_the_stream_ends_when_the_access_token_expires(server, agent):
    stream = server.stream(_token(agent, lifetime=timedelta(seconds=2)))
    started = time.monotonic()
    assert stream.status == 200
    assert stream.next_event(timeout=10) is None  # the server ended it
    assert 0.5 < time.monotonic() - started < 6  # exp is in whole seconds
    assert any("token expired" in comment for comment in stream.comments)


def test_an_expired_or_missing_token_is_refused_in_the_error_shape(server, agent):
    expired = AccessToken.for_user(agent)
    expired.set_exp(lifetime=timedelta(seconds=-1))
    for token in (str(expired), "not-a-token"):
        stream = server.stream(token)
        assert stream.status == 401
        assert stream.json()["error"]["code"] in ("authentication_failed", "not_authenticated")
    status, body, _ = server.request("GET", "/api/v1/events")
    assert status == 401 and body["error"]["code"] == "not_authenticated"


def test_deactivating_a_user_ends_their_streams(server, agent, admin_user):
    stream = server.stream(_token(agent))
    assert stream.status == 200
    user_update(actor=admin_user, user=agent, is_active=False)
    assert stream.next_event(timeout=5) is None
    assert any("stream closed" in comment for comment in stream.comments)


def test_an_import_job_pokes_its_owner_only(server, manager, other_manager):
    from django.core.files.uploadedfile import SimpleUploadedFile

    mine = server.stream(_token(manager))
    theirs = server.stream(_token(other_manager))
    upload = SimpleUploadedFile("book.csv", b"name,phone\r\nAda,+12025550143\r\n")
    job = import_job_create(actor=manager, file=upload, kind="contacts")
    import_job_cancel(actor=manager, job=job)
    event, _ = _until(mine, "import")
    assert event["data"] == {"id": str(job.pk), "status": "cancelled", "progress": 0}
    with pytest.raises(TimeoutError):
        theirs.next_event(timeout=1)
    mine.close()
    theirs.close()


def test_a_busy_stream_still_ends_when_its_user_is_deactivated(server, agent, admin_user):
    stream = server.stream(_token(agent))
    user_update(actor=admin_user, user=agent, is_active=False)
    make_contact(actor=admin_user)  # a poke after the sign-out is not sent first
    assert stream.next_event(timeout=5) is None


def test_a_client_gone_before_its_stream_began_frees_its_place(server, agent):
    import socket

    token = _token(agent)
    for _ in range(3):  # the limit here: three open-and-vanish attempts
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(
                f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\n\r\n".encode()
            )
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
    time.sleep(1.5)  # a heartbeat (1 s here) notices the closed connections
    stream = server.stream(token)
    assert stream.status == 200
    stream.close()


def test_a_phone_holds_one_stream_the_newest(server, agent):
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.devices import DEVICE_CLAIM
    from syncaudit.services import device_for_login

    device = device_for_login(user=agent, device_id="pixel-7")
    refresh = RefreshToken.for_user(agent)
    refresh[DEVICE_CLAIM] = str(device.pk)
    token = str(refresh.access_token)
    old = server.stream(token)  # half-open after a network switch, say
    new = server.stream(token)
    assert old.status == 200 and new.status == 200
    assert old.next_event(timeout=5) is None  # replaced
    contact = make_contact(actor=agent)
    assert _until(new, "contacts")[0]["data"] == {"version": contact.version}
    new.close()


def test_head_holds_no_stream(server, agent):
    status, _, _ = server.request("HEAD", "/api/v1/events", token=_token(agent))
    assert status == 405


def test_a_restart_ends_open_streams_at_once(agent):
    with AppServer(workers=1) as app:
        stream = app.stream(_token(agent))
        assert stream.status == 200
        took = app.stop()
        assert stream.next_event(timeout=5) is None
    assert took < 10, app.output()  # not the 30 s graceful timeout
