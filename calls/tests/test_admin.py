import csv
import io
from http import HTTPStatus

import openpyxl
import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from calls.tests.factories import make_call
from contacts.tests.factories import make_contact

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:calls_calllog_changelist")
EXPORT = reverse("admin:calls_calllog_export")
EXPORT_FIELDS = (
    "id",
    "started_at",
    "direction",
    "duration_seconds",
    "phone",
    "phone_normalized",
    "user_email",
    "contact_id",
    "contact_name",
    "device_id",
    "client_call_id",
)


@pytest.fixture
def site(client, admin_user):
    client.force_login(admin_user)
    return client


def export(site, file_format: str, query: str = ""):
    data = {"format": file_format, "resource": "0"}
    data.update({f"calllogresource_{name}": "on" for name in EXPORT_FIELDS})
    response = site.post(EXPORT + query, data)
    assert response.streaming  # constant memory, however many rows (crm/http/exports.py)
    response.body = b"".join(response.streaming_content)
    return response


def test_it_lists_calls_with_their_user_and_contact(site):
    make_contact(name="Called Person", phone="+12022345678")
    make_call(user=UserFactory(email="agent7@example.com"), phone="+1 202 234 5678")
    html = site.get(CHANGELIST).content.decode()
    assert "agent7@example.com" in html
    assert "Called Person" in html


def test_the_changelist_runs_a_constant_number_of_queries(site, django_assert_num_queries):
    users = UserFactory.create_batch(2)
    make_contact(phone="+12022345678")
    for n in range(3):
        make_call(user=users[n % 2], phone="+12022345678")
    # 1 session, 2 admin user, 3 the users of the "user" filter, 4 COUNT of the filtered list
    # (no COUNT of the whole table: show_full_result_count is off), 5 the page of calls joined
    # to user and contact, 6 MIN/MAX started_at and 7 the distinct days for the date hierarchy.
    with django_assert_num_queries(7):
        site.get(CHANGELIST)
    for n in range(6):
        make_call(user=users[n % 2], phone="+12022000001")
    with django_assert_num_queries(7):
        response = site.get(CHANGELIST)
    assert response.context["cl"].result_count == 9


def test_it_searches_by_contact_name_and_number_and_filters_by_direction(site, admin_user):
    make_contact(name="Zelda", phone="+12022345678")
    make_call(user=admin_user, phone="+12022345678", direction="missed")
    make_call(user=admin_user, phone="+12022000001", direction="outgoing")

    def phones(**params):
        return [c.phone for c in site.get(CHANGELIST, params).context["cl"].result_list]

    assert phones(q="zelda") == ["+12022345678"]
    assert phones(q="2022000001") == ["+12022000001"]
    assert phones(direction__exact="missed") == ["+12022345678"]


def test_calls_are_read_only(site, admin_user):
    call = make_call(user=admin_user)
    assert site.get(reverse("admin:calls_calllog_add")).status_code == HTTPStatus.FORBIDDEN
    change = reverse("admin:calls_calllog_change", args=[call.pk])
    response = site.get(change)
    assert response.status_code == HTTPStatus.OK
    assert response.context["has_change_permission"] is False
    assert site.post(change, {"phone": "+12022000001"}).status_code == HTTPStatus.FORBIDDEN
    delete = reverse("admin:calls_calllog_delete", args=[call.pk])
    assert site.get(delete).status_code == HTTPStatus.FORBIDDEN


def test_it_exports_the_filtered_list_as_csv(site, admin_user):
    contact = make_contact(name="=cmd|' /C calc'!A0", phone="+12022345678")
    make_call(user=admin_user, phone="+12022345678", direction="missed")
    make_call(user=admin_user, phone="=1+1", direction="outgoing")
    response = export(site, "0", "?direction__exact=missed")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert len(rows) == 1
    (row,) = rows
    assert row["direction"] == "missed"
    assert row["user_email"] == admin_user.email
    assert row["contact_id"] == str(contact.pk)
    assert row["contact_name"] == "'=cmd|' /C calc'!A0"
    assert row["phone_normalized"] == "+12022345678"
    assert row["started_at"].endswith("Z")


def test_it_exports_xlsx_without_formula_cells(site, admin_user):
    make_call(user=admin_user, phone="=1+1")
    make_call(user=admin_user, phone="+12022345678")
    response = export(site, "1")
    assert response.status_code == HTTPStatus.OK
    sheet = openpyxl.load_workbook(io.BytesIO(response.body)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    values = {cell.value for cell in cells}
    assert {"'=1+1", "+12022345678"} <= values
