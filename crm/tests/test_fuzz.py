"""Property-based fuzzing of every operation in our own OpenAPI schema (schemathesis) with every
built-in check, authenticated as each role. Bounded and seeded so the run is repeatable and
quick: no 5xx, every status and body as documented (errors in the one envelope), schema-invalid
input refused, undeclared methods refused, no operation served without a token.

Two judgements, both about rules the schema states in words but cannot check:
- valid-looking input may still be a 400 where the server knows more than any schema can say:
  a cursor must be one the server issued, a phone number must exist in its country, a time must
  not lie in the future, an email must be free, a password strong. Only those operations, and
  only with the error code of that rule, may answer 400 to schema-valid input
  (RULES_BEYOND_SCHEMA); everywhere else positive_data_acceptance holds as shipped;
- POST /sync answers 200 for pushed items the schema does not describe: the contract makes a
  bad item that item's error (result "error"), never the request's (negative_data_rejection
  skips its items, not its envelope: a sync without a device is still a 400).
And one about the harness: a negative case that drops the Authorization header gets the
test's own header back, so negative_data_rejection cannot judge it (ignored_auth covers it).
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import CHECKS, load_all_checks

from accounts.models import Role
from accounts.tests.factories import UserFactory
from crm.tests.asgi_bridge import asgi_wsgi_app

# Through Django's ASGI path, as the production server serves it (crm/tests/asgi_bridge.py).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema", asgi_wsgi_app())

load_all_checks()
ALL_CHECKS = CHECKS.get_all()
NEGATIVE = CHECKS.get_one("negative_data_rejection")
POSITIVE = CHECKS.get_one("positive_data_acceptance")

CURSOR = "invalid_cursor"  # a cursor is one the server issued (signed)
RULE = "validation_error"  # a real phone number, a time not in the future, a free email, ...
RULES_BEYOND_SCHEMA = {
    # a cursor the server issued; a page no deeper than 10,000 rows (the schema cannot say
    # "page x limit", the description does)
    ("GET", "/api/v1/calls"): {CURSOR, "page_too_deep"},
    ("GET", "/api/v1/contacts/lookup"): {RULE},  # a number that exists
    ("GET", "/api/v1/sync/contacts"): {CURSOR},
    ("GET", "/api/v1/sync/calls"): {CURSOR},
    ("GET", "/api/v1/sync/lists"): {CURSOR},
    ("POST", "/api/v1/lists"): {RULE},  # a free name
    ("POST", "/api/v1/dnc/entries"): {RULE},  # a list that exists, a real number
    ("GET", "/api/v1/dnc/check"): {RULE},  # a real number
    ("POST", "/api/v1/dnc/scrub"): {RULE},  # contact lists that exist
    ("GET", "/api/v1/sync/dnc"): {CURSOR},
    ("POST", "/api/v1/contacts/bulk"): {RULE},  # the data its action needs; a list that exists
    ("PATCH", "/api/v1/lists/{id}"): {RULE},
    ("POST", "/api/v1/lists/{id}/contacts"): {RULE},  # ids of live contacts
    ("POST", "/api/v1/sync"): {CURSOR, RULE},
    ("POST", "/api/v1/calls"): {RULE},
    ("POST", "/api/v1/contacts"): {RULE},
    ("PUT", "/api/v1/contacts/{id}"): {RULE},
    ("PATCH", "/api/v1/contacts/{id}"): {RULE},
    ("POST", "/api/v1/users"): {RULE},
    ("POST", "/api/v1/contact-fields"): {RULE},  # a free key; choices only for a choice field
    ("PATCH", "/api/v1/contact-fields/{key}"): {RULE},  # key and type are immutable
    ("PATCH", "/api/v1/users/{id}"): {RULE},
    ("POST", "/api/v1/auth/login"): {RULE},
    ("POST", "/api/v1/auth/refresh"): {RULE},  # a token of blanks is no token
    ("POST", "/api/v1/auth/logout"): {RULE},
    ("POST", "/api/v1/imports"): {RULE},  # a file with a header of its kind; a list that exists
    ("POST", "/api/v1/imports/{id}/mapping"): {RULE},  # the file's columns, the kind's fields
}


def positive_data_acceptance(ctx, response, case):
    """schemathesis' own check, but for the 400s of RULES_BEYOND_SCHEMA."""
    allowed = RULES_BEYOND_SCHEMA.get((case.method, case.path), set())
    if response.status_code == 400 and response.json()["error"]["code"] in allowed:
        return True
    return POSITIVE(ctx, response, case)


ERROR_KEYS = {"code", "message", "details"}


def error_shape(ctx, response, case):
    if response.status_code < 400:
        return True
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == ERROR_KEYS, body
    assert isinstance(body["error"]["details"], dict), body
    return True


def _mutated_headers(case) -> bool:
    """A negative case whose headers were made invalid (say, Authorization left out): the
    test sends its own Authorization header, which undoes the mutation."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    return any(
        location.name == "HEADER" and info.mode.is_negative
        for location, info in meta.components.items()
    )


def _checks_for(case):
    sync_items_only = (
        case.path == "/api/v1/sync"
        and case.method == "POST"
        and isinstance(case.body, dict)
        and isinstance(case.body.get("device"), dict)  # the envelope is fine; items may not be
    )
    skipped = {POSITIVE, NEGATIVE} if sync_items_only or _mutated_headers(case) else {POSITIVE}
    checks = [check for check in ALL_CHECKS if check not in skipped]
    return [*checks, positive_data_acceptance, error_shape]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Like Django's test client: requests must not close the test transaction's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=[Role.ADMIN, Role.MANAGER, Role.AGENT, Role.VIEWER])
def token(request, django_db_blocker):
    with django_db_blocker.unblock():
        user = UserFactory(role=request.param)
    return str(RefreshToken.for_user(user).access_token)


@pytest.mark.django_db
@schema.exclude(path_regex="^/api/v1/(schema|docs)$").parametrize()
@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_survives_fuzzing(case, token):
    # identity: the WSGI transport hands schemathesis the raw bytes (a real client unzips).
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
    case.call_and_validate(headers=headers, checks=_checks_for(case))
