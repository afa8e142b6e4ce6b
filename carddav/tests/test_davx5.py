"""DAVx5's own sequence, request by request (read from its source: DavResourceFinder,
BaseWebDavCollection.queryCapabilities, SyncManager.syncCollectionSync, MULTIGET_BATCH_SIZE =
10, uploadDirty with If-None-Match / If-Match)."""

from http import HTTPStatus

import pytest

from accounts.models import Role
from accounts.tests.factories import UserFactory
from carddav.tests.helpers import (
    NS,
    PROPFIND_CAPABILITIES,
    SYNC,
    DavClient,
    Multistatus,
    card,
)
from contacts.models import Contact
from contacts.services import contact_delete, contact_update
from contacts.tests.factories import make_contact
from ledger.models import ChangeFeed
from ledger.versioning import CONTACTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone(agent):
    return DavClient(agent)


def _members(ms: Multistatus, book: str) -> dict[str, str]:
    """href -> etag (or the status text of a 404) of the members in a sync answer."""
    out = {}
    for href, response in ms.by_href().items():
        if href == book:
            continue
        etag = ms.prop(href, "d:getetag")
        out[href] = etag.text if etag is not None else response.findtext("d:status", namespaces=NS)
    return out


def test_it_is_discovered_like_davx5_does(phone, agent):
    response = phone.http.generic("PROPFIND", "/.well-known/carddav")
    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == "/dav/"

    root = Multistatus(phone.propfind("/dav/"))
    principal = root.prop("/dav/", "d:current-user-principal/d:href").text
    assert principal == f"/dav/principals/{agent.pk}/"

    found = Multistatus(phone.propfind(principal))
    home = found.prop(principal, "card:addressbook-home-set/d:href").text
    assert home == f"/dav/addressbooks/{agent.pk}/"

    listing = Multistatus(phone.propfind(home, depth="1"))
    book = listing.prop(phone.book, "d:resourcetype")
    assert book.find("card:addressbook", NS) is not None
    assert listing.prop(phone.book, "d:displayname").text == "Team contacts"

    caps = Multistatus(phone.propfind(phone.book, PROPFIND_CAPABILITIES))
    reports = caps.prop(phone.book, "d:supported-report-set")
    assert reports.find(".//d:sync-collection", NS) is not None
    assert reports.find(".//card:addressbook-multiget", NS) is not None
    versions = {e.get("version") for e in caps.prop(phone.book, "card:supported-address-data")}
    assert versions == {"3.0", "4.0"}
    assert caps.prop(phone.book, "cs:getctag").text
    assert caps.prop(phone.book, "d:sync-token").text.startswith("http")
    assert int(caps.prop(phone.book, "card:max-resource-size").text) > 0
    privileges = caps.prop(phone.book, "d:current-user-privilege-set")
    assert privileges.find(".//d:write-content", NS) is not None


def test_options_says_it_is_carddav(client):
    response = client.options("/dav/")
    assert response.status_code == HTTPStatus.OK
    assert "addressbook" in response["DAV"]
    assert "REPORT" in response["Allow"]


def test_a_full_sync_pages_and_multigets_every_card(phone, agent):
    contacts = [make_contact(actor=agent, name=f"Person {i}") for i in range(25)]
    token, seen, requests = "", {}, 0
    while True:
        ms = phone.sync(token, limit=10)
        requests += 1
        members = _members(ms, phone.book)
        seen.update(members)
        token = ms.sync_token
        if phone.book not in ms.by_href():
            break
        assert "507" in ms.status_of(phone.book)
    assert requests == 3
    assert len(seen) == 25
    hrefs = sorted(seen)
    cards = {}
    for start in range(0, len(hrefs), 10):
        got = phone.multiget(hrefs[start : start + 10])
        for href in hrefs[start : start + 10]:
            assert got.prop(href, "d:getetag").text == seen[href]
            cards[href] = got.prop(href, "card:address-data").text
    one = contacts[3]
    text = cards[f"{phone.book}{one.pk}.vcf"]
    assert f"FN:{one.name}" in text
    assert f"TEL;TYPE=CELL:{one.phone_normalized}" in text
    assert seen[f"{phone.book}{one.pk}.vcf"] == f'"{one.version}"'


def test_a_delta_reports_changes_and_deletes_as_404(phone, agent):
    kept = make_contact(actor=agent, name="Kept")
    changed = make_contact(actor=agent, name="Changed")
    gone = make_contact(actor=agent, name="Gone")
    token = phone.sync().sync_token
    contact_update(actor=agent, contact=changed, name="Changed again")
    contact_delete(actor=agent, contact=gone)
    ms = phone.sync(token)
    members = _members(ms, phone.book)
    assert set(members) == {f"{phone.book}{changed.pk}.vcf", f"{phone.book}{gone.pk}.vcf"}
    assert "404" in members[f"{phone.book}{gone.pk}.vcf"]
    assert f"{phone.book}{kept.pk}.vcf" not in members
    assert _members(phone.sync(ms.sync_token), phone.book) == {}


def test_a_new_card_is_created_and_keeps_the_phones_name(phone, agent):
    token = phone.sync().sync_token
    vcard = card("Nina New", "+12025550181", uid="davx5-uid-7", email="nina@example.com")
    response = phone.put("davx5-file-7.vcf", vcard, if_none_match="*")
    assert response.status_code == HTTPStatus.CREATED
    etag = response["ETag"]
    contact = Contact.live.get(phone_normalized="+12025550181")
    assert etag == f'"{contact.version}"'
    assert (contact.name, contact.email, contact.created_by) == (
        "Nina New",
        "nina@example.com",
        agent,
    )

    got = phone.http.get(phone.book + "davx5-file-7.vcf")
    assert got.status_code == HTTPStatus.OK
    assert got["ETag"] == etag
    assert "UID:davx5-uid-7" in got.content.decode()
    members = _members(phone.sync(token), phone.book)
    assert members == {f"{phone.book}davx5-file-7.vcf": etag}

    # The same name again with If-None-Match: * is taken.
    again = phone.put("davx5-file-7.vcf", vcard, if_none_match="*")
    assert again.status_code == HTTPStatus.PRECONDITION_FAILED


def test_an_edit_with_if_match_is_a_field_edit_and_a_stale_one_412(phone, agent):
    contact = make_contact(actor=agent, name="Eddie Edit")
    name = f"{contact.pk}.vcf"
    etag = phone.http.get(phone.book + name)["ETag"]
    vcard = card("Eddie Edited", contact.phone_normalized, uid=str(contact.pk), org="Acme")
    response = phone.put(name, vcard, if_match=etag)
    assert response.status_code == HTTPStatus.NO_CONTENT
    contact.refresh_from_db()
    assert (contact.name, contact.company) == ("Eddie Edited", "Acme")
    assert response["ETag"] == f'"{contact.version}"'

    stale = phone.put(name, card("Too Late", contact.phone_normalized), if_match=etag)
    assert stale.status_code == HTTPStatus.PRECONDITION_FAILED
    contact.refresh_from_db()
    assert contact.name == "Eddie Edited"


def test_a_delete_with_if_match(phone, agent):
    contact = make_contact(actor=agent)
    name = f"{contact.pk}.vcf"
    etag = phone.http.get(phone.book + name)["ETag"]
    contact_update(actor=agent, contact=contact, name="Changed meanwhile")
    stale = phone.request("DELETE", phone.book + name, if_match=etag)
    assert stale.status_code == HTTPStatus.PRECONDITION_FAILED
    fresh = phone.http.get(phone.book + name)["ETag"]
    response = phone.request("DELETE", phone.book + name, if_match=fresh)
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert Contact.objects.get(pk=contact.pk).deleted_at is not None
    assert phone.http.get(phone.book + name).status_code == HTTPStatus.NOT_FOUND


def _sync_refused(phone, token: str):
    """A sync-collection that must not be answered with a multistatus."""
    body = SYNC.format(token=token, limit="")
    return phone.request("REPORT", phone.book, body, depth="1")


@pytest.mark.parametrize("token", ["garbage", "http://crm.invalid/ns/sync/forged:abc"])
def test_a_forged_token_is_403_valid_sync_token(phone, token):
    response = _sync_refused(phone, token)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert b"valid-sync-token" in response.content


def test_an_expired_token_is_403_valid_sync_token_and_a_new_sync_works(phone, agent):
    make_contact(actor=agent)
    token = phone.sync().sync_token
    ChangeFeed.objects.filter(name=CONTACTS).update(epoch=12345)  # cursors reset
    response = _sync_refused(phone, token)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert b"<d:valid-sync-token/>" in response.content
    assert len(_members(phone.sync(), phone.book)) == 1


def test_a_card_with_a_number_the_book_holds_becomes_the_older_contact(phone, agent):
    older = make_contact(actor=UserFactory(), name="Olivia Older", phone="+12025550190")
    token = phone.sync().sync_token
    vcard = card("Younger Copy", "+1 202-555-0190", uid="dup-uid", email="young@example.com")
    response = phone.put("dup-file.vcf", vcard, if_none_match="*")
    assert response.status_code == HTTPStatus.CREATED  # never 409/412: DAVx5 would drop it

    live = Contact.live.filter(phone_normalized="+12025550190")
    assert live.count() == 1
    (contact,) = live
    assert contact.pk == older.pk and contact.name == "Olivia Older"

    ms = phone.sync(token)
    members = _members(ms, phone.book)
    assert "404" in members[f"{phone.book}dup-file.vcf"]
    assert phone.http.get(phone.book + "dup-file.vcf").status_code == HTTPStatus.NOT_FOUND
    # Reported once: the next token is past it.
    assert _members(phone.sync(ms.sync_token), phone.book) == {}
    # Another phone doing a full sync sees one card for the number.
    other = DavClient(UserFactory(role=Role.AGENT))
    assert list(_members(other.sync(), other.book)) == [f"{other.book}{older.pk}.vcf"]


def test_vcard_4_is_served_when_asked(phone, agent):
    contact = make_contact(actor=agent, name="Four Point")
    href = f"{phone.book}{contact.pk}.vcf"
    text = phone.multiget([href], version="4.0").prop(href, "card:address-data").text
    assert "VERSION:4.0" in text
    assert f"TEL;VALUE=uri;TYPE=cell:tel:{contact.phone_normalized}" in text


def test_a_vcard_4_upload_with_a_photo_and_x_properties_is_read(phone):
    vcard = "\r\n".join(
        [
            "BEGIN:VCARD", "VERSION:4.0", "UID:urn:uuid:4a1b", "FN:Quattro", "N:Quattro;;;;",
            "TEL;VALUE=uri;TYPE=cell:tel:+12025550177", "CATEGORIES:vip,lead",
            "PHOTO:data:image/jpeg;base64," + "A" * 4000, "X-ANDROID-CUSTOM:vnd.x;1",
            "END:VCARD", "",
        ]
    )  # fmt: skip
    response = phone.put("quattro.vcf", vcard, if_none_match="*")
    assert response.status_code == HTTPStatus.CREATED
    contact = Contact.live.get(phone_normalized="+12025550177")
    assert contact.tags == ["vip", "lead"]


def test_multiget_of_unknown_and_foreign_hrefs_answers_404_each(phone):
    ms = phone.multiget(["/dav/addressbooks/x/team/a.vcf", phone.book + "nothing.vcf"])
    assert all("404" in r.findtext("d:status", namespaces=NS) for r in ms.responses())


def test_propfind_depth_infinity_is_refused(phone):
    response = phone.propfind(phone.book, depth="infinity")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert b"propfind-finite-depth" in response.content


def test_propfind_depth_1_lists_every_card_with_its_etag(phone, agent):
    contacts = [make_contact(actor=agent) for _ in range(3)]
    body = '<propfind xmlns="DAV:"><prop><resourcetype/><getetag/></prop></propfind>'
    ms = Multistatus(phone.propfind(phone.book, body, depth="1"))
    for contact in contacts:
        etag = ms.prop(f"{phone.book}{contact.pk}.vcf", "d:getetag").text
        assert etag == f'"{contact.version}"'
