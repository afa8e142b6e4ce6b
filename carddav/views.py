"""CardDAV (RFC 6352) with sync-collection (RFC 6578), for DAVx5 and other stock clients.

The resources, all under /dav/ (``<user>`` is the signed-in user's id; another user's paths
are 404):

    /dav/                                   the root: current-user-principal
    /dav/principals/<user>/                 the principal: addressbook-home-set
    /dav/addressbooks/<user>/               the home: one address book
    /dav/addressbooks/<user>/team/          "Team contacts": every live contact
    /dav/addressbooks/<user>/team/<name>    one card (<contact id>.vcf, or the client's name)

Thin views: parse (defusedxml, sizes capped), authenticate (HTTP Basic with an app password:
accounts.apppasswords), authorise (viewers read; agents change their own contacts: the REST
API's contact_can_edit), then a selector or a service (carddav.selectors, carddav.services).
CSRF does not apply: these views take no cookie, only Basic credentials.
"""

import re
from http import HTTPStatus
from urllib.parse import quote, unquote, urlsplit

from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.views.decorators.csrf import csrf_exempt

from accounts.apppasswords import BasicAuthFailed, basic_authenticate
from carddav import davxml, selectors, services
from carddav.davxml import CARDDAV, CS, DAV, XmlInvalid, qname
from contacts.errors import ContactGone, DuplicatePhone, VersionConflict
from contacts.models import Contact
from contacts.permissions import contact_can_edit
from contacts.vcards import VcardsInvalid, contact_vcard, vcard_read_one
from crm.http.errors import FieldsInvalid
from ledger.selectors import feed_state
from ledger.versioning import CONTACTS
from syncaudit.cursors import Cursor
from syncaudit.errors import CursorExpired, InvalidCursor
from syncaudit.selectors import feed_cursor_check

REALM = "Team contacts"
BOOK = "team"
BOOK_NAME = "Team contacts"
ALLOW = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, REPORT"
# A card (a vCard with a photo a phone made small) and a REPORT/PROPFIND body (a multiget of
# a few hundred hrefs) at most; more is a 413.
MAX_RESOURCE_SIZE = 256 * 1024
MAX_XML_SIZE = 1024 * 1024
SYNC_PAGE = 1000  # members per sync-collection answer; a 507 on the book's href says "more"
MULTIGET_MAX = 1000
TOKEN_PREFIX = "http://crm.invalid/ns/sync/"  # noqa: S105 - a URI prefix, no secret
VCARD_TYPE = "text/vcard; charset=utf-8"


class DavError(Exception):
    def __init__(self, status: int, condition: str = "", description: str = "", headers=None):
        super().__init__(description)
        self.status = status
        self.condition = condition
        self.description = description
        self.headers = headers or {}

    def response(self) -> HttpResponse:
        if self.condition:
            body = davxml.error(self.condition, self.description)
            response = HttpResponse(body, status=self.status, content_type="application/xml")
        else:
            response = HttpResponse(
                self.description, status=self.status, content_type="text/plain; charset=utf-8"
            )
        for name, value in self.headers.items():
            response[name] = value
        return response


def _need_privileges(path: str, privilege: str = "write-content") -> DavError:
    condition = (
        "<d:need-privileges><d:resource>"
        f"{davxml.href(path)}<d:privilege><d:{privilege}/></d:privilege>"
        "</d:resource></d:need-privileges>"
    )
    return DavError(403, condition, "You may not change this card.")


# --- resources ------------------------------------------------------------------------------


class Resource:
    """What a path names: kind is root, principal, home, book or card."""

    def __init__(self, kind: str, user, name: str = ""):
        self.kind = kind
        self.user = user
        self.name = name

    @property
    def path(self) -> str:
        return _paths(self.user)[self.kind] + (quote(self.name) if self.kind == "card" else "")


def _paths(user) -> dict[str, str]:
    return {
        "root": "/dav/",
        "principal": f"/dav/principals/{user.pk}/",
        "home": f"/dav/addressbooks/{user.pk}/",
        "book": f"/dav/addressbooks/{user.pk}/{BOOK}/",
        "card": f"/dav/addressbooks/{user.pk}/{BOOK}/",
    }


_PATH = re.compile(
    r"^(?:(?P<principals>principals)/(?P<puser>[^/]+)/?"
    r"|addressbooks/(?P<huser>[^/]+)(?:/(?P<book>[^/]+)(?:/(?P<card>[^/]+))?)?/?)?$"
)


def _resolve(path: str, user) -> Resource:
    match = _PATH.match(unquote(path))
    if match is None:
        raise DavError(404, description="No such resource.")
    owner = match["puser"] or match["huser"]
    if owner is not None and owner != str(user.pk):
        raise DavError(404, description="No such resource.")
    if match["principals"]:
        return Resource("principal", user)
    if match["huser"] is None:
        return Resource("root", user)
    if match["book"] is None:
        return Resource("home", user)
    if match["book"] != BOOK:
        raise DavError(404, description="No such address book.")
    if match["card"] is None:
        return Resource("book", user)
    return Resource("card", user, match["card"])


# --- properties -----------------------------------------------------------------------------


def _etag(version: int) -> str:
    return f'"{version}"'


def _token(cursor: Cursor) -> str:
    return TOKEN_PREFIX + cursor.encode()


def _privileges(user, kind: str) -> str:
    names = ["read", "read-current-user-privilege-set"]
    if user.can_write and kind in ("book", "card"):
        names += ["write", "write-content", "bind", "unbind"]
    return "".join(f"<d:privilege><d:{name}/></d:privilege>" for name in names)


_REPORTS = "".join(
    f"<d:supported-report><d:report>{report}</d:report></d:supported-report>"
    for report in ("<d:sync-collection/>", "<card:addressbook-multiget/>")
)
_ADDRESS_DATA_TYPES = (
    '<card:address-data-type content-type="text/vcard" version="3.0"/>'
    '<card:address-data-type content-type="text/vcard" version="4.0"/>'
)


def _properties(resource: Resource, request, *, state=None, version=None) -> dict[str, str]:
    """Every property of a resource, rendered (name in Clark notation -> element)."""
    user, kind = resource.user, resource.kind
    paths = _paths(user)
    el = davxml.element
    props = {
        qname(DAV, "current-user-principal"): el(
            qname(DAV, "current-user-principal"), davxml.href(paths["principal"])
        ),
        qname(DAV, "current-user-privilege-set"): el(
            qname(DAV, "current-user-privilege-set"), _privileges(user, kind)
        ),
    }
    if kind == "card":
        props.update(
            {
                qname(DAV, "resourcetype"): el(qname(DAV, "resourcetype")),
                qname(DAV, "getetag"): el(qname(DAV, "getetag"), davxml.text(_etag(version))),
                qname(DAV, "getcontenttype"): el(qname(DAV, "getcontenttype"), VCARD_TYPE),
            }
        )
        return props
    props[qname(DAV, "owner")] = el(qname(DAV, "owner"), davxml.href(paths["principal"]))
    if kind == "principal":
        props[qname(DAV, "resourcetype")] = el(qname(DAV, "resourcetype"), "<d:principal/>")
        props[qname(DAV, "displayname")] = el(
            qname(DAV, "displayname"), davxml.text(user.name or user.email)
        )
        props[qname(DAV, "principal-URL")] = el(
            qname(DAV, "principal-URL"), davxml.href(paths["principal"])
        )
    else:
        types = "<d:collection/><card:addressbook/>" if kind == "book" else "<d:collection/>"
        props[qname(DAV, "resourcetype")] = el(qname(DAV, "resourcetype"), types)
    if kind in ("principal", "root", "home", "book"):
        props[qname(CARDDAV, "addressbook-home-set")] = el(
            qname(CARDDAV, "addressbook-home-set"), davxml.href(paths["home"])
        )
    if kind == "book":
        state = state or feed_state(CONTACTS)
        head = Cursor(CONTACTS, state.epoch, state.version)
        props.update(
            {
                qname(DAV, "displayname"): el(qname(DAV, "displayname"), BOOK_NAME),
                qname(CARDDAV, "addressbook-description"): el(
                    qname(CARDDAV, "addressbook-description"),
                    "Every contact of the team's shared book.",
                ),
                qname(DAV, "supported-report-set"): el(
                    qname(DAV, "supported-report-set"), _REPORTS
                ),
                qname(CARDDAV, "supported-address-data"): el(
                    qname(CARDDAV, "supported-address-data"), _ADDRESS_DATA_TYPES
                ),
                qname(CARDDAV, "max-resource-size"): el(
                    qname(CARDDAV, "max-resource-size"), str(MAX_RESOURCE_SIZE)
                ),
                qname(CS, "getctag"): el(qname(CS, "getctag"), f"{state.epoch}-{state.version}"),
                qname(DAV, "sync-token"): el(qname(DAV, "sync-token"), davxml.text(_token(head))),
            }
        )
    elif kind == "home":
        props[qname(DAV, "displayname")] = el(qname(DAV, "displayname"), "Address books")
    return props


def _requested(root) -> list[str] | None:
    """The property names a PROPFIND (or a REPORT's DAV:prop) asks for; None: all of them."""
    if root is None or root.find(qname(DAV, "allprop")) is not None:
        return None
    if root.find(qname(DAV, "propname")) is not None:
        return None
    prop = root.find(qname(DAV, "prop"))
    if prop is None:
        return None
    return [child.tag for child in prop if isinstance(child.tag, str)]


def _propstat(props: dict[str, str], wanted: list[str] | None) -> str:
    if wanted is None:
        return davxml.propstat(list(props.values()), [])
    found = [props[name] for name in wanted if name in props]
    missing = [name for name in wanted if name not in props]
    return davxml.propstat(found, missing)


# --- the view -------------------------------------------------------------------------------


def _body(request, limit: int) -> bytes:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise DavError(400, description="Bad Content-Length.") from None
    if length > limit:
        raise DavError(413, description=f"At most {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise DavError(413, description=f"At most {limit} bytes.")
    return body


def _xml(request):
    try:
        return davxml.parse(_body(request, MAX_XML_SIZE))
    except XmlInvalid as exc:
        raise DavError(400, description=f"The body is not well-formed XML: {exc}") from None


def _multistatus(responses, extra: str = "") -> HttpResponse:
    return HttpResponse(
        davxml.multistatus(responses, extra),
        status=207,
        content_type="application/xml; charset=utf-8",
    )


def well_known(request):
    return HttpResponsePermanentRedirect("/dav/")


@csrf_exempt
def dav(request, path: str = ""):
    try:
        if request.method == "OPTIONS":
            return _options()
        try:
            user = basic_authenticate(request)
        except BasicAuthFailed as exc:
            headers = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
            if exc.status == 429:
                headers = {"Retry-After": str(exc.retry_after or 60)}
            raise DavError(exc.status, description=exc.message, headers=headers) from None
        resource = _resolve(path, user)
        handler = _HANDLERS.get(request.method)
        if handler is None:
            raise DavError(405, description="Method not allowed.", headers={"Allow": ALLOW})
        return handler(request, resource)
    except DavError as exc:
        return exc.response()


def _options() -> HttpResponse:
    response = HttpResponse(status=200)
    response["DAV"] = "1, 3, addressbook"
    response["Allow"] = ALLOW
    response["Content-Length"] = "0"
    return response


def _propfind(request, resource: Resource) -> HttpResponse:
    depth = request.META.get("HTTP_DEPTH", "infinity").strip().lower()
    if depth not in ("0", "1"):
        raise DavError(403, "<d:propfind-finite-depth/>", "Depth must be 0 or 1.")
    wanted = _requested(_xml(request))
    responses = []
    if resource.kind == "card":
        row = selectors.card_by_name(resource.name)
        if row is None:
            raise DavError(404, description="No such card.")
        props = _properties(resource, request, version=row["version"])
        return _multistatus([davxml.response(resource.path, _propstat(props, wanted))])
    state = feed_state(CONTACTS) if resource.kind == "book" else None
    props = _properties(resource, request, state=state)
    responses.append(davxml.response(resource.path, _propstat(props, wanted)))
    if depth == "1" and resource.kind == "home":
        book = Resource("book", resource.user)
        responses.append(davxml.response(book.path, _propstat(_properties(book, request), wanted)))
    if depth == "1" and resource.kind == "book":
        card = Resource("card", resource.user)
        base = card.path
        card_props = _properties(card, request, version=0)
        etag_name = qname(DAV, "getetag")
        for name, version in selectors.book_members():
            card_props[etag_name] = davxml.element(etag_name, davxml.text(_etag(version)))
            responses.append(davxml.response(base + quote(name), _propstat(card_props, wanted)))
    return _multistatus(responses)


def _report(request, resource: Resource) -> HttpResponse:
    root = _xml(request)
    if root is None:
        raise DavError(400, description="A REPORT needs a body.")
    if resource.kind == "book" and root.tag == qname(DAV, "sync-collection"):
        return _sync_collection(root, resource)
    if resource.kind == "book" and root.tag == qname(CARDDAV, "addressbook-multiget"):
        return _multiget(root, resource)
    raise DavError(403, "<d:supported-report/>", "This report is not supported here.")


def _address_data_version(root) -> str:
    prop = root.find(qname(DAV, "prop"))
    data = prop.find(qname(CARDDAV, "address-data")) if prop is not None else None
    if data is not None and data.get("version") == "4.0":
        return "4.0"
    return "3.0"


_GETETAG, _ADDRESS_DATA = qname(DAV, "getetag"), qname(CARDDAV, "address-data")
_GETCONTENTTYPE, _RESOURCETYPE = qname(DAV, "getcontenttype"), qname(DAV, "resourcetype")
_CARD_DEFAULT_PROPS = [_GETETAG, _ADDRESS_DATA]


def _card_props(row: dict, wanted: list[str] | None, vcard_version: str) -> str:
    found, missing = [], []
    for name in wanted or _CARD_DEFAULT_PROPS:
        if name == _GETETAG:
            found.append(f"<d:getetag>{davxml.text(_etag(row['version']))}</d:getetag>")
        elif name == _ADDRESS_DATA:
            card = contact_vcard(row, version=vcard_version, uid=row["uid"])
            found.append(f"<card:address-data>{davxml.text(card)}</card:address-data>")
        elif name == _GETCONTENTTYPE:
            found.append(f"<d:getcontenttype>{VCARD_TYPE}</d:getcontenttype>")
        elif name == _RESOURCETYPE:
            found.append("<d:resourcetype/>")
        else:
            missing.append(name)
    return davxml.propstat(found, missing)


def _multiget(root, resource: Resource) -> HttpResponse:
    base = unquote(Resource("card", resource.user).path)
    hrefs = [(el.text or "").strip() for el in root.findall(qname(DAV, "href"))]
    if len(hrefs) > MULTIGET_MAX:
        raise DavError(403, description=f"At most {MULTIGET_MAX} hrefs a multiget.")
    names = {}
    for raw in hrefs:
        path = unquote(urlsplit(raw).path)
        names[raw] = path[len(base) :] if path.startswith(base) else None
    cards = selectors.cards_by_name([n for n in names.values() if n and "/" not in n])
    wanted = _requested(root)
    version = _address_data_version(root)
    responses = []
    for raw, name in names.items():
        row = cards.get(name) if name else None
        if row is None:
            responses.append(davxml.status_response(raw, "404 Not Found"))
        else:
            responses.append(davxml.response(raw, _card_props(row, wanted, version)))
    return _multistatus(responses)


def _cursor_of(root) -> tuple[Cursor, object]:
    raw = (root.findtext(qname(DAV, "sync-token")) or "").strip()
    if raw and not raw.startswith(TOKEN_PREFIX):
        raise DavError(403, "<d:valid-sync-token/>", "Unknown sync token: sync again without.")
    try:
        return feed_cursor_check(CONTACTS, raw[len(TOKEN_PREFIX) :] or None)
    except (CursorExpired, InvalidCursor):
        raise DavError(
            403, "<d:valid-sync-token/>", "The sync token expired: sync again."
        ) from None


def _sync_collection(root, resource: Resource) -> HttpResponse:
    level = (root.findtext(qname(DAV, "sync-level")) or "1").strip()
    if level != "1":
        raise DavError(403, "<d:supported-report/>", "Only sync-level 1 (an address book).")
    cursor, state = _cursor_of(root)
    limit = SYNC_PAGE
    nresults = root.findtext(f"{qname(DAV, 'limit')}/{qname(DAV, 'nresults')}")
    if nresults is not None:
        try:
            limit = max(1, min(SYNC_PAGE, int(nresults)))
        except ValueError:
            raise DavError(400, description="DAV:nresults must be a number.") from None
    page = selectors.sync_page(cursor, state, limit=limit)
    wanted = _requested(root)
    base = Resource("card", resource.user).path
    card_props = _properties(Resource("card", resource.user), None, version=0)
    etag_name = qname(DAV, "getetag")
    responses = []
    for name, version in page.members:
        href = base + quote(name)
        if version is None:
            responses.append(davxml.status_response(href, "404 Not Found"))
            continue
        card_props[etag_name] = davxml.element(etag_name, davxml.text(_etag(version)))
        responses.append(davxml.response(href, _propstat(card_props, wanted)))
    if page.has_more:
        responses.append(davxml.status_response(resource.path, "507 Insufficient Storage"))
    token = f"<d:sync-token>{davxml.text(_token(page.cursor))}</d:sync-token>"
    return _multistatus(responses, token)


def _card_row(resource: Resource) -> dict:
    if resource.kind != "card":
        raise DavError(405, description="Not a card.", headers={"Allow": ALLOW})
    row = selectors.card_by_name(resource.name)
    if row is None:
        raise DavError(404, description="No such card.")
    return row


def _get(request, resource: Resource) -> HttpResponse:
    row = _card_row(resource)
    version = "4.0" if "version=4.0" in request.META.get("HTTP_ACCEPT", "") else "3.0"
    body = contact_vcard(row, version=version, uid=row["uid"])
    response = HttpResponse(body, content_type=VCARD_TYPE)
    response["ETag"] = _etag(row["version"])
    return response


def _if_match_versions(request) -> list[int] | None:
    """The versions an If-Match names; [] for ``*``; None without the header."""
    header = request.META.get("HTTP_IF_MATCH")
    if header is None:
        return None
    versions = []
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            return []
        tag = tag.removeprefix("W/").strip('"')
        if tag.isdigit() and len(tag) < 19:
            versions.append(int(tag))
        else:
            versions.append(-1)  # matches nothing
    return versions


def _checked_version(request, row: dict) -> int | None:
    """The base version of a write from its If-Match (None: no precondition); 412 if stale."""
    versions = _if_match_versions(request)
    if versions is None or versions == []:
        return None
    if row["version"] not in versions:
        raise DavError(412, description="The card changed on the server: sync first.")
    return row["version"]


def _contact_of(row: dict) -> Contact:
    return Contact.objects.select_related("created_by").get(pk=row["id"])


def _put(request, resource: Resource) -> HttpResponse:
    if resource.kind != "card":
        raise DavError(405, description="Only cards can be written.", headers={"Allow": ALLOW})
    user = resource.user
    if not user.can_write:
        raise _need_privileges(resource.path, "bind")
    body = _body(request, MAX_RESOURCE_SIZE)
    try:
        card = vcard_read_one(body.decode("utf-8"))
    except (UnicodeDecodeError, VcardsInvalid) as exc:
        raise DavError(403, "<card:valid-address-data/>", str(exc)) from None
    row = selectors.card_by_name(resource.name)
    try:
        if row is None:
            if _if_match_versions(request) is not None:
                raise DavError(412, description="No card at this name.")
            written = services.card_create(actor=user, name=resource.name, card=card)
        else:
            if request.META.get("HTTP_IF_NONE_MATCH", "").strip() == "*":
                raise DavError(412, description="A card exists at this name.")
            contact = _contact_of(row)
            if not contact_can_edit(user, contact):
                raise _need_privileges(resource.path)
            base_version = _checked_version(request, row)
            written = services.card_update(
                actor=user, contact=contact, card=card, base_version=base_version
            )
    except VersionConflict:
        raise DavError(412, description="The card changed on the server: sync first.") from None
    except ContactGone:
        raise DavError(412, description="The card was deleted on the server.") from None
    except DuplicatePhone:
        raise DavError(409, description="Another contact already has this phone number.") from None
    except FieldsInvalid as exc:
        messages = "; ".join(f"{k}: {v[0]}" for k, v in exc.errors.items())
        raise DavError(403, "<card:valid-address-data/>", messages) from None
    status = HTTPStatus.CREATED if written.created else HTTPStatus.NO_CONTENT
    response = HttpResponse(status=status)
    response["ETag"] = _etag(written.version)
    return response


def _delete(request, resource: Resource) -> HttpResponse:
    if resource.kind != "card":
        raise DavError(403, description="The address book cannot be deleted.")
    if not resource.user.can_write:
        raise _need_privileges(resource.path, "unbind")
    row = _card_row(resource)
    contact = _contact_of(row)
    if not contact_can_edit(resource.user, contact):
        raise _need_privileges(resource.path, "unbind")
    base_version = _checked_version(request, row)
    try:
        services.card_delete(actor=resource.user, contact=contact, base_version=base_version)
    except VersionConflict:
        raise DavError(412, description="The card changed on the server: sync first.") from None
    return HttpResponse(status=204)


_HANDLERS = {
    "PROPFIND": _propfind,
    "REPORT": _report,
    "GET": _get,
    "HEAD": _get,  # the server sends the headers only
    "PUT": _put,
    "DELETE": _delete,
}
