import csv
import io
import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import openpyxl
import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from calls.tests.factories import make_call
from contacts.models import Contact
from contacts.resources import spreadsheet_safe
from contacts.services import contact_delete, contact_update
from contacts.tests.factories import make_contact
from ledger.models import Activity

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:contacts_contact_changelist")
ADD = reverse("admin:contacts_contact_add")
EXPORT = reverse("admin:contacts_contact_export")
TEMPLATE = reverse("admin:contacts_contact_import_template")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
EXPORT_FIELDS = ("id", "name", "phone", "phone_normalized", "created_at", "created_by_email")


def change_url(contact) -> str:
    return reverse("admin:contacts_contact_change", args=[contact.pk])


@pytest.fixture
def site(client, admin_user):
    client.force_login(admin_user)
    return client


def contact_form(contact, **changes) -> dict:
    data = {"name": contact.name, "phone": contact.phone, "base_version": contact.version}
    data.update(changes)
    return data


# --- the list -------------------------------------------------------------------------------


def test_it_lists_contacts_with_their_creator(site):
    creator = UserFactory(email="carol@example.com")
    make_contact(actor=creator, name="Zoë Ünal", phone="+1 202 234 5678")
    response = site.get(CHANGELIST)
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Zoë Ünal" in html
    assert "+12022345678" in html
    assert "carol@example.com" in html


def test_it_escapes_html_in_names(site):
    make_contact(name="<script>alert(1)</script>")
    html = site.get(CHANGELIST).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_changelist_runs_a_constant_number_of_queries(site, django_assert_num_queries):
    creators = UserFactory.create_batch(3)
    for n in range(4):
        make_contact(actor=creators[n % 3])
    # 1 session, 2 admin user, 3 COUNT of the filtered list (live contacts), 4 COUNT of the
    # whole table ("n total"), 5 the most used tags (tag filter), 6 the lists (list filter),
    # 7 the users of the "created by" filter, 8 the page of contacts joined to their creator
    # (list_select_related) with each one's call count and last call (subqueries of the same
    # statement), 9 the lists' names for the page's lists column.
    with django_assert_num_queries(9):
        assert site.get(CHANGELIST).status_code == HTTPStatus.OK
    for n in range(8):
        make_contact(actor=creators[n % 3])
    with django_assert_num_queries(9):
        response = site.get(CHANGELIST)
    assert response.context["cl"].result_count == 12


def test_it_searches_by_name_and_by_the_digits_of_a_number(site):
    make_contact(name="Alice Adams", phone="+12022345678")
    make_contact(name="Bob Brown", phone="+12022000999")
    by_name = site.get(CHANGELIST, {"q": "alice"}).context["cl"].result_list
    assert [c.name for c in by_name] == ["Alice Adams"]
    by_digits = site.get(CHANGELIST, {"q": "(202) 234-5678"}).context["cl"].result_list
    assert [c.name for c in by_digits] == ["Alice Adams"]


def test_it_hides_deleted_contacts_unless_asked(site, admin_user):
    make_contact(name="Alive")
    gone = make_contact(name="Gone")
    contact_delete(actor=admin_user, contact=gone)

    def names(**params):
        return sorted(c.name for c in site.get(CHANGELIST, params).context["cl"].result_list)

    assert names() == ["Alive"]
    assert names(deleted="yes") == ["Gone"]
    assert names(deleted="all") == ["Alive", "Gone"]


def test_it_filters_by_creator(site):
    carol = UserFactory()
    make_contact(actor=carol, name="Carol's")
    make_contact(name="Someone else's")
    result = site.get(CHANGELIST, {"created_by__id__exact": carol.pk}).context["cl"].result_list
    assert [c.name for c in result] == ["Carol's"]


# --- writes go through the services ---------------------------------------------------------


def test_it_adds_a_contact_through_the_service(site, admin_user):
    response = site.post(ADD, {"name": "  Zoë   Ünal ", "phone": "(202) 234-5678"})
    assert response.status_code == HTTPStatus.FOUND
    contact = Contact.objects.get()
    assert (contact.name, contact.phone_normalized) == ("Zoë Ünal", "+12022345678")
    assert contact.created_by == admin_user
    assert contact.version > 0
    activity = Activity.objects.get(action="contacts.contact.created")
    assert (activity.actor, activity.object_id) == (admin_user, str(contact.pk))


def test_it_adds_a_contact_for_another_creator_with_its_creation_time(site):
    carol = UserFactory()
    site.post(
        ADD,
        {
            "name": "Dora",
            "phone": "+12022345678",
            "created_at_0": "2024-05-01",
            "created_at_1": "09:30:00",
            "created_by": carol.pk,
        },
    )
    contact = Contact.objects.get()
    assert contact.created_by == carol
    assert contact.created_at == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def test_it_keeps_the_older_contact_when_adding_a_known_number(site):
    existing = make_contact(name="Old", phone="+12022345678", created_at=T0)
    response = site.post(ADD, {"name": "New", "phone": "202 234 5678"}, follow=True)
    assert Contact.objects.count() == 1
    existing.refresh_from_db()
    assert existing.name == "Old"
    assert response.redirect_chain[-1][0] == change_url(existing)
    assert "kept unchanged" in response.content.decode()
    assert not Activity.objects.filter(action="contacts.contact.replaced").exists()


def test_an_older_contact_added_in_the_admin_replaces_a_younger_one(site):
    existing = make_contact(name="Young", phone="+12022345678", created_at=T0)
    site.post(
        ADD,
        {
            "name": "Older",
            "phone": "+12022345678",
            "created_at_0": "2024-01-01",
            "created_at_1": "00:00:00",
        },
    )
    existing.refresh_from_db()
    assert existing.name == "Older"
    assert Activity.objects.filter(action="contacts.contact.replaced").count() == 1


def test_it_rejects_an_invalid_phone_and_a_blank_name(site):
    response = site.post(ADD, {"name": " ", "phone": "12"})
    assert response.status_code == HTTPStatus.OK
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"name", "phone"}
    assert not Contact.objects.exists()


def test_it_rejects_a_creation_time_in_the_future(site):
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    response = site.post(
        ADD,
        {
            "name": "Future",
            "phone": "+12022345678",
            "created_at_0": tomorrow.strftime("%Y-%m-%d"),
            "created_at_1": tomorrow.strftime("%H:%M:%S"),
        },
    )
    assert "created_at" in response.context["adminform"].form.errors
    assert not Contact.objects.exists()


def test_it_edits_a_contact_through_the_service(site, admin_user):
    contact = make_contact(name="Before", phone="+12022345678")
    version = contact.version
    response = site.post(
        change_url(contact), contact_form(contact, name="After", phone="+1 202 200 0001")
    )
    assert response.status_code == HTTPStatus.FOUND
    contact.refresh_from_db()
    assert (contact.name, contact.phone_normalized) == ("After", "+12022000001")
    assert contact.version > version
    activity = Activity.objects.get(action="contacts.contact.updated")
    assert activity.actor == admin_user
    assert activity.changes["name"] == ["Before", "After"]


def test_it_refuses_a_phone_another_contact_holds(site):
    holder = make_contact(name="Holder", phone="+12022000001")
    contact = make_contact(name="Mover", phone="+12022345678")
    response = site.post(
        change_url(contact), contact_form(contact, phone="+12022000001"), follow=True
    )
    contact.refresh_from_db()
    assert contact.phone_normalized == "+12022345678"
    html = response.content.decode()
    assert "already has this phone number" in html
    assert change_url(holder) in html


def test_it_refuses_to_overwrite_a_newer_edit(site, admin_user):
    contact = make_contact(name="Original")
    seen_version = contact.version
    contact_update(actor=admin_user, contact=contact, name="Edited elsewhere")
    response = site.post(
        change_url(contact),
        contact_form(contact, name="Mine", base_version=seen_version),
        follow=True,
    )
    contact.refresh_from_db()
    assert contact.name == "Edited elsewhere"
    assert "someone changed this contact" in response.content.decode()


def test_deleting_a_contact_leaves_a_tombstone(site, admin_user):
    contact = make_contact()
    call = make_call(user=admin_user, phone=contact.phone)
    response = site.post(
        reverse("admin:contacts_contact_delete", args=[contact.pk]), {"post": "yes"}
    )
    assert response.status_code == HTTPStatus.FOUND
    contact.refresh_from_db()
    assert contact.deleted_at is not None
    call.refresh_from_db()
    assert call.contact_id == contact.pk
    assert Activity.objects.filter(
        action="contacts.contact.deleted", object_id=str(contact.pk)
    ).exists()


def test_the_delete_action_soft_deletes_each_selected_contact(site):
    contacts = [make_contact() for _ in range(3)]
    site.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [c.pk for c in contacts], "post": "yes"},
    )
    assert Contact.objects.count() == 3
    assert Contact.live.count() == 0
    assert Activity.objects.filter(action="contacts.contact.deleted").count() == 3


def test_a_deleted_contact_is_read_only(site, admin_user):
    contact = make_contact(name="Gone")
    contact_delete(actor=admin_user, contact=contact)
    response = site.get(change_url(contact))
    assert response.status_code == HTTPStatus.OK
    assert response.context["has_change_permission"] is False
    response = site.post(change_url(contact), contact_form(contact, name="Back"))
    assert response.status_code == HTTPStatus.FORBIDDEN


# --- the change page ------------------------------------------------------------------------


def test_the_change_page_shows_recent_calls_and_history(site, admin_user):
    contact = make_contact(actor=admin_user, name="Called", phone="+12022345678")
    agent = UserFactory(email="agent7@example.com")
    make_call(user=agent, phone="+1 202 234 5678", direction="missed")
    html = site.get(change_url(contact)).content.decode()
    assert "agent7@example.com" in html
    assert "Missed" in html
    assert "Contact created" in html  # the action as a person reads it
    assert admin_user.email in html


def test_the_change_page_shows_at_most_20_calls(site, admin_user):
    contact = make_contact(phone="+12022345678")
    for _ in range(25):
        make_call(user=admin_user, phone="+12022345678")
    response = site.get(change_url(contact))
    links = re.findall(r"/admin/calls/calllog/[0-9a-f-]+/change/", response.content.decode())
    assert len(links) == 20


def test_the_change_page_runs_a_constant_number_of_queries(
    site, admin_user, django_assert_num_queries
):
    contact = make_contact(phone="+12022345678")
    make_call(user=admin_user, phone="+12022345678")
    # 1 session, 2 admin user, 3 the contact with its creator, 4 its calls counted (and the
    # last), 5 its recent calls with their users, 6 its activity with the actors.
    with django_assert_num_queries(6):
        site.get(change_url(contact))
    for _ in range(5):
        make_call(user=UserFactory(), phone="+12022345678")
    for n in range(3):
        contact = contact_update(actor=UserFactory(), contact=contact, name=f"Name {n}").contact
    with django_assert_num_queries(6):
        site.get(change_url(contact))


# --- export and the import template -----------------------------------------------------------


def export(site, file_format: str, **params):
    data = {"format": file_format, "resource": "0"}
    data.update({f"contactresource_{name}": "on" for name in EXPORT_FIELDS})
    response = site.post(EXPORT + ("?" + "&".join(f"{k}={v}" for k, v in params.items())), data)
    assert response.streaming  # constant memory, however many rows (crm/http/exports.py)
    response.body = b"".join(response.streaming_content)
    return response


def test_it_exports_csv_with_formulas_neutralised(site):
    carol = UserFactory(email="carol@example.com")
    make_contact(actor=carol, name="=1+2", phone="+12022345678", created_at=T0)
    make_contact(name="@SUM(A1)", phone="+12022000001")
    # (A formula as the phone itself is refused at the door: contacts/tests/test_phones.py.)
    make_contact(name="-5+cmd|' /C calc'!A0", phone="-202-200-0002")
    make_contact(name="Plain", phone="+1 202 200 0003")
    response = export(site, "0")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/csv")
    rows = {
        r["phone_normalized"]: r
        for r in csv.DictReader(io.StringIO(response.body.decode("utf-8-sig")))
    }
    assert rows["+12022345678"]["name"] == "'=1+2"
    assert rows["+12022345678"]["created_by_email"] == "carol@example.com"
    assert rows["+12022345678"]["created_at"] == "2025-01-01T00:00:00Z"
    assert rows["+12022000001"]["name"] == "'@SUM(A1)"
    assert rows["+12022000002"]["name"] == "'-5+cmd|' /C calc'!A0"
    assert rows["+12022000002"]["phone"] == "'-202-200-0002"
    # Numbers stay numbers: E.164 and a "+" number as entered are not formulas.
    assert rows["+12022000003"]["phone"] == "+1 202 200 0003"
    assert rows["+12022000003"]["name"] == "Plain"


def test_it_exports_xlsx_without_formula_cells(site):
    make_contact(name='=HYPERLINK("http://evil","x")', phone="+12022345678")
    make_contact(name="+cmd|' /C calc'!A0", phone="+12022000001")
    response = export(site, "1")
    assert response.status_code == HTTPStatus.OK
    sheet = openpyxl.load_workbook(io.BytesIO(response.body)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    values = {cell.value for cell in cells}
    assert '\'=HYPERLINK("http://evil","x")' in values
    assert "'+cmd|' /C calc'!A0" in values
    assert "+12022345678" in values


def test_the_export_follows_the_list_filters(site, admin_user):
    make_contact(name="Alive", phone="+12022345678")
    contact_delete(actor=admin_user, contact=make_contact(name="Gone"))
    rows = list(csv.DictReader(io.StringIO(export(site, "0").body.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["Alive"]


def test_spreadsheet_safe_leaves_numbers_and_non_text_alone():
    assert spreadsheet_safe("+12025550101") == "+12025550101"
    assert spreadsheet_safe("+1 (202) 555-0101") == "+1 (202) 555-0101"
    assert spreadsheet_safe("+1+cmd") == "'+1+cmd"
    assert spreadsheet_safe("-202-555-0101") == "'-202-555-0101"
    assert spreadsheet_safe("\rx") == "'\rx"
    assert spreadsheet_safe(7) == 7
    assert spreadsheet_safe(None) is None


def test_it_offers_an_import_template(site):
    changelist = site.get(CHANGELIST).content.decode()
    assert TEMPLATE in changelist
    response = site.get(TEMPLATE)
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "name", "phone", "email", "company", "title", "notes", "tags", "custom_fields",
        "created_at",
        "created_by_email",
    ]  # fmt: skip
    assert len(rows) == 2


def test_agents_cannot_reach_the_admin(client, agent):
    client.force_login(agent)
    response = client.get(CHANGELIST)
    assert response.status_code == HTTPStatus.FOUND
    assert reverse("admin:login") in response["Location"]


def test_the_add_import_and_export_pages_render(site):
    for url in (ADD, reverse("admin:contacts_contact_import"), EXPORT):
        response = site.get(url)
        assert response.status_code == HTTPStatus.OK, url
    import_page = site.get(reverse("admin:contacts_contact_import")).content.decode()
    assert TEMPLATE in import_page
