"""OpenAPI schema post-processing: what a client generator needs beyond the views' own
success answers.

Every operation lists the errors it can answer, each with the one error envelope (the
``Error`` component), so that a generated client has a type for them and a fuzzer can hold
the server to them. Which errors an operation can give follows from what it is: a body can be
malformed (400), too large (413) or of the wrong type (415); every operation but the public
ones needs a token (401) and a role (403); an unknown id, or a page past the end, is 404; the
sync feeds and POST /sync refuse expired cursors (410); a contact edit can conflict (409); a
login can be throttled (429); and any operation can meet a database outage (503) or a bug (500).
"""

ERROR_SCHEMA = {
    "type": "object",
    "description": "The one shape of every error answer.",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "additionalProperties": False,
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Machine-readable, e.g. validation_error, not_found, "
                    "duplicate_phone, conflict, invalid_cursor, cursor_expired.",
                },
                "message": {"type": "string", "description": "For people."},
                "details": {
                    "type": "object",
                    "description": 'Field errors {"field": ["msg"]}, batch errors '
                    '{"items": {"<index>": {...}}}, or what the code documents.',
                    "additionalProperties": True,
                },
            },
        }
    },
}

DESCRIPTIONS = {
    400: "Invalid request: field errors in details",
    401: "No valid access token (or bad credentials)",
    403: "The caller's role may not do this",
    404: "No such object, or a page past the end",
    406: "The Accept header asks for something other than JSON",
    409: "Conflict: another contact holds the number, or the contact changed since base_version",
    410: "The cursor expired: sync again without one",
    413: "Body or batch too large",
    415: "The body is not JSON",
    429: "Too many failed sign-ins: wait retry_after_seconds",
    500: "Server error (never with a traceback)",
    503: "The database is unavailable: retry later",
}

_PUBLIC = {"/api/v1/auth/login", "/api/v1/auth/refresh"}
_WITH_BODY = {"post", "put", "patch"}
_CURSORED = {
    "/api/v1/sync", "/api/v1/sync/contacts", "/api/v1/sync/calls", "/api/v1/sync/lists",
    "/api/v1/sync/dnc",
}  # fmt: skip
_METHODS = {"get", "post", "put", "patch", "delete"}
# Rules of query parameters that the filter and pagination classes enforce but do not tell
# drf-spectacular (the filter form's max_length, the page size's floor).
# What a signed cursor is made of (django.core.signing: base64url, ":" between parts, a "."
# before a compressed payload); anything else is refused as invalid_cursor.
CURSOR_PATTERN = "^[A-Za-z0-9_:.-]*$"

# Text PostgreSQL can store: no NUL (crm/text.py; a URL cannot carry half a UTF-16 pair).
_STORABLE = "^[^\\u0000]*$"
_QUERY_RULES = {
    "cursor": {"pattern": CURSOR_PATTERN},
    "limit": {"minimum": 1},
    "page": {"minimum": 1},
    "search": {"maxLength": 100},
    "q": {"maxLength": 100},
    "company": {"maxLength": 200, "pattern": _STORABLE},
}
# Parameters that may be repeated (?tag=a&tag=b: all must match).
_REPEATED = {"tag": {"type": "string", "minLength": 1, "maxLength": 50, "pattern": _STORABLE}}


def _errors_of(path: str, method: str) -> set[int]:
    errors = {400, 404, 406, 500, 503}
    if path not in _PUBLIC:
        errors |= {401, 403}
    if method in _WITH_BODY:
        errors |= {413, 415}
    if path == "/api/v1/auth/login":
        errors |= {401, 429}
    if path == "/api/v1/auth/refresh":
        errors.add(401)
    if path in _CURSORED:
        errors.add(410)
    if path.startswith("/api/v1/contacts/{id}") and method in {"put", "patch", "delete"}:
        errors.add(409)
    return errors


def strip_trailing_slashes(result, generator, request, public):
    """Routes accept an optional trailing slash; the contract writes paths without one."""
    result["paths"] = {
        (path.rstrip("/") if path != "/" else path): item for path, item in result["paths"].items()
    }
    return result


def document_errors(result, generator, request, public):
    """Every operation's error answers, with the Error component (see the module docstring).
    And a query parameter sent empty (``?user=``) is the same as one left out, as DRF and
    django-filter read it: the schema says so (``allowEmptyValue``)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, item in result["paths"].items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    parameter["allowEmptyValue"] = True
                    parameter.setdefault("schema", {}).update(
                        _QUERY_RULES.get(parameter["name"], {})
                    )
                    if parameter["name"] in _REPEATED:
                        items = _REPEATED[parameter["name"]]
                        parameter.update(style="form", explode=True)
                        parameter["schema"] = {"type": "array", "items": items, "maxItems": 50}
            responses = operation.setdefault("responses", {})
            for status in sorted(_errors_of(path, method)):
                responses.setdefault(
                    str(status), {"description": DESCRIPTIONS[status], "content": reference}
                )
    return result


# Bodies that are one object or an array of them (the views take both; see their limits).
_ONE_OR_MANY = {("/api/v1/dnc/entries", "post")}


def one_or_many_bodies(result, generator, request, public):
    """The request body of _ONE_OR_MANY operations: the object, or an array of them."""
    for path, method in _ONE_OR_MANY:
        operation = result["paths"].get(path, {}).get(method)
        if operation is None:
            continue
        content = operation["requestBody"]["content"]
        for media in content.values():
            one = media["schema"]
            # No maxItems: more than 5,000 is a 413 (too large), not a malformed body.
            media["schema"] = {"oneOf": [one, {"type": "array", "items": one}]}
    return result
