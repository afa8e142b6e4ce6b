"""WebDAV XML in and out.

In: request bodies are parsed by defusedxml, which refuses DTDs, entity declarations and
external references (no XXE, no "billion laughs"); the views cap the size before parsing.
Out: answers are written as text from escaped pieces. A multistatus of a thousand
sync-collection members or ten cards is a few string joins, no element tree.
"""

from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

DAV = "DAV:"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
CS = "http://calendarserver.org/ns/"
PREFIXES = {DAV: "d", CARDDAV: "card", CS: "cs"}
NAMESPACES = " ".join(f'xmlns:{prefix}="{ns}"' for ns, prefix in PREFIXES.items())


class XmlInvalid(ValueError):
    """The body is no well-formed, safe XML."""


def parse(body: bytes) -> Element | None:
    """The root element of a request body, or None for an empty body."""
    if not body.strip():
        return None
    try:
        return fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise XmlInvalid(str(exc)) from None


def qname(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def tag_of(clark: str) -> str:
    """``{DAV:}getetag`` as ``d:getetag``; an unknown namespace gets its own declaration."""
    namespace, _, name = clark[1:].partition("}")
    prefix = PREFIXES.get(namespace)
    if prefix is None:
        return f"x:{name} xmlns:x={quoteattr(namespace)}"
    return f"{prefix}:{name}"


def element(clark: str, content: str = "") -> str:
    """One property element with its (already escaped) content."""
    tag = tag_of(clark)
    close = tag.split(" ", 1)[0]
    return f"<{tag}>{content}</{close}>" if content else f"<{tag}/>"


def text(value) -> str:
    return escape(str(value))


def href(path: str) -> str:
    return f"<d:href>{escape(path)}</d:href>"


def propstat(found: list[str], missing: list[str]) -> str:
    """The propstat blocks of one response: found properties (rendered) with 200, the names of
    missing ones with 404."""
    parts = []
    if found:
        parts.append(
            f"<d:propstat><d:prop>{''.join(found)}</d:prop>"
            "<d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
        )
    if missing:
        names = "".join(element(name) for name in missing)
        parts.append(
            f"<d:propstat><d:prop>{names}</d:prop>"
            "<d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>"
        )
    return "".join(parts)


def response(path: str, body: str) -> str:
    return f"<d:response>{href(path)}{body}</d:response>"


def status_response(path: str, status: str) -> str:
    return f"<d:response>{href(path)}<d:status>HTTP/1.1 {status}</d:status></d:response>"


def multistatus(responses, extra: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"<d:multistatus {NAMESPACES}>{''.join(responses)}{extra}</d:multistatus>"
    )


def error(condition: str, description: str = "") -> str:
    """A DAV:error body naming a precondition (``<d:need-privileges/>``...)."""
    extra = f"<d:responsedescription>{escape(description)}</d:responsedescription>"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"<d:error {NAMESPACES}>{condition}{extra if description else ''}</d:error>"
    )
