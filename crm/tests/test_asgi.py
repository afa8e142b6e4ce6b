"""crm.http.asgi, the production ASGI application, called as uvicorn calls it: CardDAV paths go
through the sync middleware chain in one thread call, with every middleware's effect kept."""

import asyncio
import base64
import logging

import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler
from django.test import override_settings

from accounts.apppasswords import app_password_create
from contacts.tests.factories import make_contact
from crm.http.asgi import CrmASGIHandler


async def _call(
    app, method: str, path: str, headers=(), body: bytes = b""
) -> tuple[int, dict, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    never = asyncio.Event()
    sent = []

    async def receive():
        if pending:
            return pending.pop(0)
        await never.wait()  # the client stays connected

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, content


def call(app, *args, **kwargs):
    return async_to_sync(_call)(app, *args, **kwargs)


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_the_application_is_the_crm_handler():
    from crm.asgi import application, django_application  # here, not when pytest collects

    assert isinstance(django_application, CrmASGIHandler)
    status, headers, _ = call(application, "OPTIONS", "/dav/")
    assert status == 200 and headers["dav"] == "1, 3, addressbook"


@pytest.mark.django_db(transaction=True)  # Django's async chain (compared) opens a connection
@override_settings(ALLOWED_HOSTS=["testserver"])
def test_a_dav_request_gets_every_header_djangos_async_chain_gives_it(caplog):
    ours, django = CrmASGIHandler(), ASGIHandler()
    request = ("REPORT", "/dav/", [(b"x-request-id", b"dav-1")])
    with caplog.at_level(logging.INFO, logger="crm.request"):
        status, headers, body = call(ours, *request)
    assert status == 401
    assert headers["www-authenticate"].startswith("Basic ")
    assert headers["x-request-id"] == "dav-1"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "referrer-policy" in headers and "cross-origin-opener-policy" in headers
    [record] = [r for r in caplog.records if r.name == "crm.request"]
    assert (record.method, record.path, record.status) == ("REPORT", "/dav/", 401)
    their_status, their_headers, their_body = call(django, *request)
    assert (their_status, their_body) == (status, body)
    assert set(their_headers) == set(headers)


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_other_paths_keep_djangos_async_chain():
    status, headers, _ = call(CrmASGIHandler(), "GET", "/healthz")
    assert status == 200 and headers["x-content-type-options"] == "nosniff"


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_an_unknown_host_is_refused_on_the_dav_path_too():
    status, _, _ = call(CrmASGIHandler(), "OPTIONS", "/dav/", [])
    assert status == 200
    with override_settings(ALLOWED_HOSTS=["elsewhere.example"]):
        status, _, _ = call(CrmASGIHandler(), "OPTIONS", "/dav/", [])
    assert status == 400


@pytest.mark.django_db(transaction=True)
@override_settings(ALLOWED_HOSTS=["testserver"])
def test_signed_in_dav_requests_in_a_row_through_the_real_handler(agent):
    """The view runs on an executor thread with its own connection (committed data only); a
    request more than the pool holds shows each one went back to it."""
    _, secret = app_password_create(user=agent, label="phone")
    auth = base64.b64encode(f"{agent.email}:{secret}".encode())
    handler = CrmASGIHandler()
    for _ in range(15):
        status, headers, body = call(
            handler,
            "PROPFIND",
            f"/dav/addressbooks/{agent.pk}/team/",
            [(b"authorization", b"Basic " + auth), (b"depth", b"0")],
        )
        assert status == 207, body[:300]
        assert b"sync-token" in body and headers["x-frame-options"] == "DENY"
    contacts = [make_contact(actor=agent) for _ in range(3)]
    hrefs = "".join(
        f"<d:href>/dav/addressbooks/{agent.pk}/team/{c.pk}.vcf</d:href>" for c in contacts
    )
    multiget = (
        '<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
        f"<d:prop><d:getetag/><card:address-data/></d:prop>{hrefs}</card:addressbook-multiget>"
    ).encode()
    for _ in range(3):  # prepares the statements, then executes them (crm.db.server_prepared)
        status, _, body = call(
            handler,
            "REPORT",
            f"/dav/addressbooks/{agent.pk}/team/",
            [(b"authorization", b"Basic " + auth), (b"depth", b"1")],
            multiget,
        )
        assert status == 207, body[:300]
        for contact in contacts:
            assert contact.phone_normalized.encode() in body
