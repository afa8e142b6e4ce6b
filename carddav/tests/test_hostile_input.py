"""Bad input never gives a 500: XML bombs and external entities, oversize bodies, broken
vCards, broken headers."""

from http import HTTPStatus

import pytest

from carddav.tests.helpers import DavClient, card
from carddav.views import MAX_RESOURCE_SIZE, MAX_XML_SIZE
from contacts.tests.factories import make_contact, next_phone

pytestmark = pytest.mark.django_db

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    '<propfind xmlns="DAV:"><prop><displayname>&lol3;</displayname></prop></propfind>'
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<sync-collection xmlns="DAV:"><sync-token>&x;</sync-token></sync-collection>'
)


@pytest.fixture
def phone(agent):
    return DavClient(agent)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, "<propfind", "\x00\xff", "<a><b></a>"])
@pytest.mark.parametrize("method", ["PROPFIND", "REPORT"])
def test_hostile_xml_is_a_400(phone, body, method):
    response = phone.request(method, phone.book, body, depth="0")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert b"root:" not in response.content


def test_an_oversize_xml_body_is_a_413(phone):
    body = "<propfind xmlns='DAV:'>" + " " * MAX_XML_SIZE + "</propfind>"
    assert phone.request("PROPFIND", phone.book, body, depth="0").status_code == 413


def test_an_oversize_card_is_a_413(phone):
    vcard = card("Big Photo", next_phone(), note="x" * (MAX_RESOURCE_SIZE + 1))
    assert phone.put("big.vcf", vcard).status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


@pytest.mark.parametrize(
    "body",
    [
        "not a vcard",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Number\r\nEND:VCARD\r\n",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bad\r\nTEL:not a number\r\nEND:VCARD\r\n",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:+12025550111\r\nEND:VCARD\r\n",
        card("Two", "+12025550112") + card("Cards", "+12025550113"),
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Unfinished\r\n",
        "BEGIN:VCARD\r\nFN:\x00\r\nTEL:+12025550114\r\nEND:VCARD\r\n",
    ],
)
def test_a_card_that_cannot_be_stored_is_403_valid_address_data(phone, body):
    response = phone.put("bad.vcf", body, if_none_match="*")
    assert response.status_code == HTTPStatus.FORBIDDEN, response.content
    assert b"valid-address-data" in response.content


def test_a_card_that_is_not_utf8_is_refused(phone):
    response = phone.http.generic(
        "PUT",
        phone.book + "latin.vcf",
        "BEGIN:VCARD\r\nFN:Jos\xe9\r\n".encode("latin-1"),
        content_type="text/vcard",
    )
    assert response.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize(
    "header", ["Basic", "Basic !!!", "Basic " + "QQ==" * 1000, "Bearer x", "Basic Og=="]
)
def test_broken_authorization_is_a_401(client, header):
    response = client.generic("PROPFIND", "/dav/", b"", HTTP_AUTHORIZATION=header, HTTP_DEPTH="0")
    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    "path", ["/dav/addressbooks/x", "/dav/nowhere/", "/dav/addressbooks/{u}/other/", "/dav/%ff/"]
)
def test_unknown_paths_are_404(phone, agent, path):
    response = phone.propfind(path.format(u=agent.pk))
    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("if_match", ['"abc"', "W/", '"99999999999999999999999"', ","])
def test_odd_if_match_values_are_412(phone, agent, if_match):
    contact = make_contact(actor=agent)
    vcard = card("Odd", contact.phone_normalized)
    response = phone.put(f"{contact.pk}.vcf", vcard, if_match=if_match)
    assert response.status_code == HTTPStatus.PRECONDITION_FAILED


@pytest.mark.parametrize("method", ["MKCOL", "PROPPATCH", "MOVE", "LOCK", "POST"])
def test_other_methods_are_405(phone, method):
    response = phone.request(method, phone.book)
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_reports_it_does_not_serve_are_403_supported_report(phone):
    body = (
        '<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
        "<D:prop><D:getetag/></D:prop><C:filter/></C:addressbook-query>"
    )
    response = phone.request("REPORT", phone.book, body, depth="1")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert b"supported-report" in response.content


def test_a_bad_limit_is_a_400(phone):
    body = (
        '<sync-collection xmlns="DAV:"><sync-token/><sync-level>1</sync-level>'
        "<limit><nresults>many</nresults></limit><prop><getetag/></prop></sync-collection>"
    )
    assert phone.request("REPORT", phone.book, body, depth="1").status_code == 400
