"""The same requests to Radicale (a reference CardDAV server) and to ours: the answers must
have the same shape (status codes, which properties are there)."""

import http.client
import json
import socket
import subprocess
import sys
import time

import pytest
from defusedxml import ElementTree as ET

from carddav.tests.helpers import MULTIGET, NS, PROPFIND_CAPABILITIES, SYNC, DavClient, card
from contacts.tests.factories import make_contact

pytestmark = pytest.mark.django_db

BOOK = "/ref/book/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def radicale(tmp_path_factory):
    root = tmp_path_factory.mktemp("radicale")
    book = root / "collection-root" / "ref" / "book"
    book.mkdir(parents=True)
    (book / ".Radicale.props").write_text(json.dumps({"tag": "VADDRESSBOOK"}))
    (book / "known.vcf").write_text(card("Known Card", "+12025550150", uid="known"), newline="")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", "",
         "--server-hosts", f"127.0.0.1:{port}", "--auth-type", "none", "--web-type", "none",
         "--storage-filesystem-folder", str(root), "--logging-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    yield port
    process.terminate()
    process.wait(timeout=10)


class Radicale:
    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, body: str = "", **headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {k.replace("_", "-"): v for k, v in headers.items()}
        headers.setdefault("Authorization", "Basic dXNlcjpwdw==")  # "user:pw" (auth: none)
        conn.request(method, path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()


def _shape(status: int, content: bytes) -> dict:
    """What is compared: the status, and per response the statuses and the properties found."""
    if status != 207:
        return {"status": status}
    root = ET.fromstring(content)
    responses = []
    for r in root.findall("d:response", NS):
        found = sorted(
            child.tag
            for ps in r.findall("d:propstat", NS)
            if "200" in ps.findtext("d:status", namespaces=NS)
            for child in ps.find("d:prop", NS)
        )
        responses.append(
            {"status": (r.findtext("d:status", namespaces=NS) or "")[9:12], "found": found}
        )
    return {
        "status": 207,
        "responses": responses,
        "token": root.find("d:sync-token", NS) is not None,
    }


@pytest.fixture
def both(radicale, agent):
    ours = DavClient(agent)
    make_contact(actor=agent, name="Known Card", phone="+12025550150")
    return ours, Radicale(radicale)


def _compare(both, method, body="", ours_path=None, theirs_path=BOOK, **headers):
    ours, theirs = both
    mine = ours.request(method, ours_path or ours.book, body, **headers)
    status, _, content = theirs.request(method, theirs_path, body, **headers)
    return _shape(mine.status_code, mine.content), _shape(status, content)


def test_options_both_say_addressbook(both):
    ours, theirs = both
    status, headers, _ = theirs.request("OPTIONS", BOOK)
    mine = ours.http.options(ours.book)
    assert (mine.status_code, status) == (200, 200)
    assert "addressbook" in mine["DAV"] and "addressbook" in headers["DAV"]


def test_capabilities_have_what_radicale_has(both):
    mine, theirs = _compare(both, "PROPFIND", PROPFIND_CAPABILITIES, depth="0")
    assert mine["status"] == theirs["status"] == 207
    assert set(theirs["responses"][0]["found"]) <= set(mine["responses"][0]["found"])


def test_a_sync_collection_has_the_same_shape(both):
    body = SYNC.format(token="", limit="")
    mine, theirs = _compare(both, "REPORT", body, depth="1")
    assert (mine["status"], mine["token"]) == (theirs["status"], theirs["token"]) == (207, True)
    assert [r["status"] for r in mine["responses"]] == [r["status"] for r in theirs["responses"]]
    # Radicale leaves a card's (empty) resourcetype out; we answer it, DAVx5 asks for it.
    assert set(theirs["responses"][0]["found"]) <= set(mine["responses"][0]["found"])


def test_a_multiget_has_the_same_shape(both):
    ours, _ = both
    (contact_href,) = list(ours.sync().by_href())
    mine = ours.multiget([contact_href, ours.book + "missing.vcf"])
    body = MULTIGET.format(
        version="", hrefs=f"<href>{BOOK}known.vcf</href><href>{BOOK}missing.vcf</href>"
    )
    status, _, content = both[1].request("REPORT", BOOK, body, depth="0")
    theirs = _shape(status, content)
    shape = _shape(207, ET.tostring(mine.root))

    def by_status(answer):
        return sorted((r["status"], r["found"]) for r in answer["responses"])

    assert by_status(shape) == by_status(theirs)


@pytest.mark.parametrize("token", ["bogus", "http://radicale.org/ns/sync/0000"])
def test_a_bad_token_is_refused_alike(both, token):
    body = SYNC.format(token=token, limit="")
    mine, theirs = _compare(both, "REPORT", body, depth="1")
    assert mine["status"] == theirs["status"] == 403


def test_writes_answer_alike(both):
    ours, theirs = both
    new = card("Fresh Card", "+12025550151", uid="fresh")
    for client, path in ((ours, ours.book), (theirs, BOOK)):
        is_ours = client is ours
        put = client.request("PUT", path + "fresh.vcf", new, If_None_Match="*",
                             Content_Type="text/vcard")  # fmt: skip
        status = put.status_code if is_ours else put[0]
        etag = put["ETag"] if is_ours else put[1]["ETag"]
        assert status == 201, (is_ours, put)
        again = client.request("PUT", path + "fresh.vcf", new, If_None_Match="*",
                               Content_Type="text/vcard")  # fmt: skip
        assert (again.status_code if is_ours else again[0]) == 412
        stale = client.request("PUT", path + "fresh.vcf", new, If_Match='"0"',
                               Content_Type="text/vcard")  # fmt: skip
        assert (stale.status_code if is_ours else stale[0]) == 412
        gone = client.request("DELETE", path + "fresh.vcf", If_Match=etag)
        assert (gone.status_code if is_ours else gone[0]) in (200, 204)
