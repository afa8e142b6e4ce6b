"""A CardDAV client as DAVx5 talks: HTTP Basic with an app password, XML bodies, multistatus
answers parsed with the standard library (our own answers are trusted not to be hostile)."""

import base64
from urllib.parse import unquote

from defusedxml import ElementTree as ET
from django.test import Client

from accounts.apppasswords import app_password_create

DAV, CARD = "DAV:", "urn:ietf:params:xml:ns:carddav"
NS = {"d": DAV, "card": CARD, "cs": "http://calendarserver.org/ns/"}

PROPFIND_BASE = (
    '<?xml version="1.0" encoding="UTF-8"?><propfind xmlns="DAV:" '
    'xmlns:CARD="urn:ietf:params:xml:ns:carddav"><prop><resourcetype/><displayname/>'
    "<current-user-principal/><CARD:addressbook-home-set/><CARD:addressbook-description/>"
    "</prop></propfind>"
)
PROPFIND_CAPABILITIES = (
    '<?xml version="1.0" encoding="UTF-8"?><propfind xmlns="DAV:" '
    'xmlns:CARD="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/">'
    "<prop><supported-report-set/><sync-token/><CS:getctag/><CARD:max-resource-size/>"
    "<CARD:supported-address-data/><current-user-privilege-set/></prop></propfind>"
)
SYNC = (
    '<?xml version="1.0" encoding="UTF-8"?><sync-collection xmlns="DAV:">'
    "<sync-token>{token}</sync-token><sync-level>1</sync-level>{limit}"
    "<prop><getetag/><resourcetype/></prop></sync-collection>"
)
MULTIGET = (
    '<?xml version="1.0" encoding="UTF-8"?><CARD:addressbook-multiget xmlns="DAV:" '
    'xmlns:CARD="urn:ietf:params:xml:ns:carddav"><prop><getcontenttype/><getetag/>'
    '<CARD:address-data content-type="text/vcard"{version}/></prop>{hrefs}'
    "</CARD:addressbook-multiget>"
)


def card(name: str, phone: str, *, uid: str = "phone-uid-1", **extra) -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:{name}", f"TEL;TYPE=CELL:{phone}"]
    lines += [f"{key.upper()}:{value}" for key, value in extra.items()]
    lines += ["PRODID:-//DAVx5//test", "X-PHONETIC-FIRST-NAME:whatever", "END:VCARD", ""]
    return "\r\n".join(lines)


def basic(email: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


class Multistatus:
    def __init__(self, response):
        assert response.status_code == 207, (response.status_code, response.content[:500])
        self.root = ET.fromstring(response.content)

    def responses(self):
        return self.root.findall("d:response", NS)

    def by_href(self) -> dict:
        return {unquote(r.findtext("d:href", namespaces=NS)): r for r in self.responses()}

    def status_of(self, href: str) -> str | None:
        return self.by_href()[href].findtext("d:status", namespaces=NS)

    def prop(self, href: str, path: str) -> object:
        for propstat in self.by_href()[href].findall("d:propstat", NS):
            if "200" in propstat.findtext("d:status", namespaces=NS):
                found = propstat.find(f"d:prop/{path}", NS)
                if found is not None:
                    return found
        return None

    @property
    def sync_token(self) -> str:
        return self.root.findtext("d:sync-token", namespaces=NS)


class DavClient:
    """One phone: a user and an app password made for it."""

    def __init__(self, user, password: str | None = None):
        self.user = user
        if password is None:
            _, password = app_password_create(user=user, label="Pixel")
        self.password = password
        self.http = Client(HTTP_AUTHORIZATION=basic(user.email, password))
        self.book = f"/dav/addressbooks/{user.pk}/team/"

    def request(self, method: str, path: str, body: str = "", **headers):
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        content_type = meta.pop("HTTP_CONTENT_TYPE", "application/xml; charset=utf-8")
        return self.http.generic(method, path, body.encode(), content_type=content_type, **meta)

    def propfind(self, path: str, body: str = PROPFIND_BASE, depth: str = "0"):
        return self.request("PROPFIND", path, body, depth=depth)

    def sync(self, token: str = "", limit: int | None = None) -> Multistatus:
        extra = f"<limit><nresults>{limit}</nresults></limit>" if limit else ""
        body = SYNC.format(token=token, limit=extra)
        return Multistatus(self.request("REPORT", self.book, body, depth="1"))

    def multiget(self, hrefs: list[str], version: str = "") -> Multistatus:
        body = MULTIGET.format(
            version=f' version="{version}"' if version else "",
            hrefs="".join(f"<href>{h}</href>" for h in hrefs),
        )
        return Multistatus(self.request("REPORT", self.book, body, depth="0"))

    def put(self, name: str, vcard: str, **headers):
        return self.request(
            "PUT", self.book + name, vcard, content_type="text/vcard; charset=utf-8", **headers
        )
