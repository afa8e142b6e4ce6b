"""One table: every API endpoint x every kind of caller (pretix-style).

A URL added without a row here fails test_every_api_route_has_a_row."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.apppasswords import app_password_create
from accounts.models import Role
from accounts.tests.factories import UserFactory
from calls.tests.factories import make_call
from contacts.bulk import bulk_run
from contacts.lists import list_create
from contacts.models import ContactField
from contacts.tests.factories import make_contact
from crm.tests.helpers import assert_error
from dnc.services import DncEntryInput, dnc_entries_add, dnc_list_create
from jobs.services import import_job_create
from syncaudit.models import Device, SyncRecord

pytestmark = pytest.mark.django_db

ROLES = ("admin", "manager", "agent", "viewer", "anonymous", "deactivated")
OK = "ok"  # anything but 401/403/404/5xx
ALL = dict.fromkeys(("admin", "manager", "agent", "viewer"), OK)
WRITERS = {"admin": OK, "manager": OK, "agent": OK, "viewer": 403}
EDITORS = {"admin": OK, "manager": OK, "agent": 403, "viewer": 403}  # contact of someone else
STAFF = {"admin": OK, "manager": OK, "agent": 403, "viewer": 403}
ADMINS = {"admin": OK, "manager": 403, "agent": 403, "viewer": 403}
OWN_RECORDS = {"admin": OK, "manager": OK, "agent": 404, "viewer": 404}  # a manager's record
NOT_MINE = {"admin": 403, "manager": 403, "agent": 404, "viewer": 404}  # a manager's phone
PUBLIC = dict.fromkeys(ROLES, OK)
BULK_NOTHING = {"action": "delete", "contact_ids": []}

# (route name, method, path template, body, expected by role); anonymous and deactivated
# callers get 401 unless the row says otherwise.
MATRIX = [
    ("auth-login", "post", "/api/v1/auth/login", {}, None),
    ("auth-refresh", "post", "/api/v1/auth/refresh", {}, None),
    ("auth-logout", "post", "/api/v1/auth/logout", {}, ALL),
    ("auth-me", "get", "/api/v1/auth/me", None, ALL),
    ("user-list", "get", "/api/v1/users", None, ADMINS),
    ("user-list", "post", "/api/v1/users", {}, ADMINS),
    ("user-detail", "get", "/api/v1/users/{user}", None, ADMINS),
    ("user-detail", "patch", "/api/v1/users/{user}", {"name": "n"}, ADMINS),
    ("user-detail", "delete", "/api/v1/users/{user}", None, ADMINS),
    ("contact-list", "get", "/api/v1/contacts", None, ALL),
    ("contact-list", "post", "/api/v1/contacts", {}, WRITERS),
    ("contact-search", "get", "/api/v1/contacts/search?q=a", None, ALL),
    ("contact-lookup", "get", "/api/v1/contacts/lookup?phone={contact_phone}", None, ALL),
    ("contact-detail", "get", "/api/v1/contacts/{contact}", None, ALL),
    ("contact-detail", "put", "/api/v1/contacts/{contact}", {}, EDITORS),
    ("contact-detail", "patch", "/api/v1/contacts/{contact}", {"name": "n"}, EDITORS),
    ("contact-detail", "delete", "/api/v1/contacts/{contact}", None, EDITORS),
    ("contact-stats", "get", "/api/v1/contacts/stats", None, ALL),
    ("contact-export", "get", "/api/v1/contacts/export", None, STAFF),
    ("contact-bulk", "post", "/api/v1/contacts/bulk", BULK_NOTHING, STAFF),
    ("contact-bulk-undo", "post", "/api/v1/contacts/bulk/{operation}/undo", {}, STAFF),
    ("contact-calls", "get", "/api/v1/contacts/{contact}/calls", None, ALL),
    ("contact-field-list", "get", "/api/v1/contact-fields", None, ALL),
    ("contact-field-list", "post", "/api/v1/contact-fields", {}, ADMINS),
    ("contact-field-detail", "get", "/api/v1/contact-fields/{field}", None, ALL),
    ("contact-field-detail", "patch", "/api/v1/contact-fields/{field}", {"label": "L"}, ADMINS),
    ("contact-field-detail", "delete", "/api/v1/contact-fields/{field}", None, ADMINS),
    ("list-list", "get", "/api/v1/lists", None, ALL),
    ("list-list", "post", "/api/v1/lists", {"name": "New list"}, STAFF),
    ("list-detail", "get", "/api/v1/lists/{list}", None, ALL),
    ("list-detail", "patch", "/api/v1/lists/{list}", {"name": "Renamed"}, STAFF),
    ("list-detail", "delete", "/api/v1/lists/{list}", None, STAFF),
    ("list-contacts", "get", "/api/v1/lists/{list}/contacts", None, ALL),
    ("list-contacts", "post", "/api/v1/lists/{list}/contacts", {"contact_ids": []}, STAFF),
    ("list-contacts-remove", "post", "/api/v1/lists/{list}/contacts/remove", {}, STAFF),
    ("dnc-list-list", "get", "/api/v1/dnc/lists", None, ALL),
    ("dnc-list-list", "post", "/api/v1/dnc/lists", {"name": "L", "type": "company"}, STAFF),
    ("dnc-list-detail", "get", "/api/v1/dnc/lists/{dnc_list}", None, ALL),
    ("dnc-list-detail", "patch", "/api/v1/dnc/lists/{dnc_list}", {"source": "s"}, STAFF),
    ("dnc-list-detail", "delete", "/api/v1/dnc/lists/{dnc_list}", None, STAFF),
    ("dnc-entry-list", "get", "/api/v1/dnc/entries", None, ALL),
    ("dnc-entry-list", "post", "/api/v1/dnc/entries", [], STAFF),
    ("dnc-entry-detail", "delete", "/api/v1/dnc/entries/{dnc_entry}", None, STAFF),
    ("dnc-check", "get", "/api/v1/dnc/check?phone=%2B12025550100", None, ALL),
    ("dnc-scrub", "post", "/api/v1/dnc/scrub", {"lists": []}, ALL),
    ("call-list", "get", "/api/v1/calls", None, ALL),
    ("call-list", "post", "/api/v1/calls", [], WRITERS),
    ("call-detail", "get", "/api/v1/calls/{call}", None, ALL),
    ("call-export", "get", "/api/v1/calls/export", None, STAFF),
    ("call-for-contact", "get", "/api/v1/calls/contact/{contact}", None, ALL),
    ("sync-contacts", "get", "/api/v1/sync/contacts", None, ALL),
    ("sync-calls", "get", "/api/v1/sync/calls", None, ALL),
    ("sync-lists", "get", "/api/v1/sync/lists", None, ALL),
    ("sync-dnc", "get", "/api/v1/sync/dnc", None, ALL),
    ("sync", "post", "/api/v1/sync", {"device": {"id": "d"}}, ALL),
    ("sync-audit-list", "get", "/api/v1/sync/audit", None, ALL),
    ("sync-audit-detail", "get", "/api/v1/sync/audit/{record}", None, OWN_RECORDS),
    ("device-list", "get", "/api/v1/devices", None, ALL),  # everyone their own
    ("device-detail", "delete", "/api/v1/devices/{device}", None, OWN_RECORDS),
    # only the phone's own user: a manager sees it (403), an agent does not (404)
    ("device-push", "post", "/api/v1/devices/{device}/push", {}, NOT_MINE),
    ("device-push", "delete", "/api/v1/devices/{device}/push", None, NOT_MINE),
    ("devices-push-key", "get", "/api/v1/devices/push-key", None, ALL),
    ("events", "get", "/api/v1/events", None, ALL),
    ("app-password-list", "get", "/api/v1/devices/app-passwords", None, ALL),
    ("app-password-list", "post", "/api/v1/devices/app-passwords", {"label": "Pixel"}, ALL),
    # Someone else's app password: 404 for everyone (each manages their own only).
    (
        "app-password-detail",
        "delete",
        "/api/v1/devices/app-passwords/{app_password}",
        None,
        dict.fromkeys(("admin", "manager", "agent", "viewer"), 404),
    ),
    ("import-list", "get", "/api/v1/imports", None, STAFF),
    ("import-list", "post", "/api/v1/imports", {}, STAFF),
    ("import-detail", "get", "/api/v1/imports/{import_job}", None, STAFF),
    ("import-errors", "get", "/api/v1/imports/{import_job}/errors", None, STAFF),
    ("import-cancel", "post", "/api/v1/imports/{import_job}/cancel", {}, STAFF),
    ("import-undo", "post", "/api/v1/imports/{import_job}/undo", {}, STAFF),
    ("import-template", "get", "/api/v1/imports/template?kind=dnc", None, STAFF),
    ("import-mapping", "post", "/api/v1/imports/{import_job}/mapping", {"mapping": {}}, STAFF),
    ("import-mappings", "get", "/api/v1/imports/mappings", None, STAFF),
    ("schema", "get", "/api/v1/schema", None, None),
    ("docs", "get", "/api/v1/docs", None, None),
]


def _api_route_names():
    names = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif (
                isinstance(pattern, URLPattern)
                and route.startswith("api/v1/")
                and pattern.name
                and not pattern.name.endswith("-root")
            ):
                names.add(pattern.name)

    walk(get_resolver().url_patterns, "")
    return names


def test_every_api_route_has_a_row():
    assert _api_route_names() == {row[0] for row in MATRIX}


@pytest.fixture
def world():
    owner = UserFactory(role=Role.AGENT)
    manager = UserFactory(role=Role.MANAGER)
    contact = make_contact(actor=owner)
    call = make_call(user=owner, phone=contact.phone_normalized)
    record = SyncRecord.objects.create(user=manager, device_ref="m-phone")
    device = Device.objects.create(user=manager, device_id="m-phone")
    target = UserFactory(role=Role.AGENT)
    field = ContactField.objects.create(key="budget", label="Budget", type="number")
    contact_list = list_create(actor=manager, name="Campaign")
    operation = bulk_run(actor=manager, action="add_tags", contact_ids=[], data={"tags": ["t"]})
    dnc_list = dnc_list_create(actor=manager, name="Company", type="company")
    ((dnc_entry, _),) = dnc_entries_add(
        actor=manager, items=[DncEntryInput(list=dnc_list.pk, phone="+12025550100")]
    )
    upload = SimpleUploadedFile("book.csv", b"name,phone\r\nAda,+12025550143\r\n")
    import_job = import_job_create(actor=manager, file=upload, kind="contacts")
    app_password, _ = app_password_create(user=manager, label="Manager's phone")
    return {
        "app_password": app_password.id,
        "import_job": import_job.id,
        "dnc_list": dnc_list.id,
        "dnc_entry": dnc_entry.id,
        "field": field.key,
        "list": contact_list.id,
        "operation": operation.id,
        "contact": contact.id,
        "contact_phone": contact.phone_normalized.replace("+", "%2B"),
        "call": call.id,
        "record": record.id,
        "device": device.id,
        "user": target.id,
    }


def _client(role):
    client = APIClient()
    if role == "anonymous":
        return client
    user = UserFactory(role=Role.AGENT if role == "deactivated" else role)
    token = RefreshToken.for_user(user).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    if role == "deactivated":
        user.is_active = False
        user.save()
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "method", "path", "body", "expected"),
    MATRIX,
    ids=[f"{m.upper()} {p}" for _, m, p, _, _ in MATRIX],
)
def test_permission_matrix(world, role, name, method, path, body, expected):
    client = _client(role)
    url = path.format(**world)
    kwargs = {"format": "json"} if body is not None else {}
    response = (
        getattr(client, method)(url, body, **kwargs)
        if body is not None
        else getattr(client, method)(url)
    )
    want = (expected or PUBLIC).get(role, 401) if expected is not None else PUBLIC[role]
    if want == OK:
        assert response.status_code not in (401, 403, 404), (role, url, response.content[:300])
        assert response.status_code < 500, (role, url, response.content[:300])
    else:
        assert_error(response, want)
