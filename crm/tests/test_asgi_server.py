"""The production server command (gunicorn crm.asgi:application -k
uvicorn_worker.UvicornWorker) serving the API end to end. The rest of the suite takes the same
ASGI path in-process (crm/tests/asgi_bridge.py); these requests go through uvicorn's own HTTP
parser, its streaming and its shutdown."""

import gzip
import http.client

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from accounts.tests.factories import UserFactory
from contacts.tests.factories import make_contact
from crm.tests.processes import AppServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), AppServer(workers=2) as app:
        yield app


def _raw(server, path: str, token: str, **headers: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", path, headers={"Host": "127.0.0.1", "Authorization": f"Bearer {token}",
                                       **headers})  # fmt: skip
    return conn.getresponse()


def test_the_api_round_trip_works_under_the_asgi_server(server):
    manager = UserFactory(role=Role.MANAGER)
    token = str(RefreshToken.for_user(manager).access_token)
    status, body, _ = server.request(
        "POST", "/api/v1/contacts", {"name": "Asgi Ada", "phone": "+12025550123"}, token
    )
    assert status == 201 and body["result"] == "created"
    status, page, _ = server.request("GET", "/api/v1/contacts?search=asgi", token=token)
    assert status == 200 and [c["name"] for c in page["results"]] == ["Asgi Ada"]
    status, body, _ = server.request(
        "POST", "/api/v1/sync", {"device": {"id": "phone-1"}, "contacts": [{"name": "Bo",
        "phone": "+12025550124"}]}, token,
    )  # fmt: skip
    assert status == 200 and body["contacts"]["results"][0]["result"] == "created"
    status, body, _ = server.request("GET", "/api/v1/contacts/not-a-uuid", token=token)
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body, _ = server.request("POST", "/api/v1/calls", [{"phone": "x"}], token)
    assert status == 400 and "items" in body["error"]["details"]


def test_an_oversized_request_line_is_answered_in_the_error_shape(server):
    agent = UserFactory(role=Role.AGENT)
    token = str(RefreshToken.for_user(agent).access_token)
    status, body, _ = server.request("GET", "/api/v1/nope/" + "x" * 20_000, token=token)
    assert status == 404 and body["error"]["code"] == "not_found"


def test_an_export_streams_every_row_gzipped_under_the_asgi_server(server):
    manager = UserFactory(role=Role.MANAGER)
    for n in range(300):
        make_contact(actor=manager, name=f"Exported {n:03}")
    token = str(RefreshToken.for_user(manager).access_token)
    response = _raw(
        server, "/api/v1/contacts/export?format=csv", token, **{"Accept-Encoding": "gzip"}
    )
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"  # streamed, not sized up front
    assert response.getheader("Content-Encoding") == "gzip"
    lines = gzip.decompress(response.read()).decode("utf-8-sig").splitlines()
    assert (len(lines) == 301 and lines[1].startswith("Exported 000")) or "Exported 000" in lines[1]
