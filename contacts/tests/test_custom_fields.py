"""Custom fields: admin-defined definitions, values checked on every write, hidden (never
lost) when a definition is deactivated."""

import json

import pytest

from contacts.models import Contact, ContactField
from contacts.services import ContactInput, contacts_upsert
from contacts.tests.factories import make_contact, next_phone
from crm.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

FIELDS = "/api/v1/contact-fields"
CONTACTS = "/api/v1/contacts"
DEFINITIONS = [
    {"key": "budget", "label": "Budget", "type": "number"},
    {"key": "renewal", "label": "Renewal", "type": "date"},
    {"key": "vip", "label": "VIP", "type": "bool"},
    {"key": "stage", "label": "Stage", "type": "choice", "choices": ["Lead", "Customer"]},
    {"key": "source", "label": "Source", "type": "text"},
]


@pytest.fixture
def defined(admin_client):
    for definition in DEFINITIONS:
        assert admin_client.post(FIELDS, definition, format="json").status_code == 201


def test_admins_define_fields_and_everyone_reads_them(admin_client, agent_client, defined):
    listed = agent_client.get(FIELDS).json()
    assert [f["key"] for f in listed["results"]] == ["budget", "renewal", "source", "stage", "vip"]
    stage = agent_client.get(f"{FIELDS}/stage").json()
    assert (stage["type"], stage["choices"], stage["active"]) == (
        "choice", ["Lead", "Customer"], True,
    )  # fmt: skip
    assert_error(agent_client.post(FIELDS, DEFINITIONS[0], format="json"), 403)


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"key": "Bad Key", "label": "x", "type": "text"}, "key"),
        ({"key": "budget", "label": "again", "type": "text"}, "key"),  # taken
        ({"key": "pick", "label": "x", "type": "choice"}, "choices"),
        ({"key": "pick", "label": "x", "type": "choice", "choices": ["a", "A"]}, "choices"),
        ({"key": "num", "label": "x", "type": "number", "choices": ["a"]}, "choices"),
        ({"key": "num", "label": "x", "type": "color"}, "type"),
    ],
)
def test_bad_definitions_are_field_errors(admin_client, defined, definition, field):
    error = assert_error(admin_client.post(FIELDS, definition, format="json"), 400)
    assert field in error["details"]


def test_key_and_type_are_immutable(admin_client, defined):
    assert_error(admin_client.patch(f"{FIELDS}/budget", {"type": "text"}, format="json"), 400)
    assert_error(admin_client.patch(f"{FIELDS}/budget", {"key": "money"}, format="json"), 400)
    renamed = admin_client.patch(f"{FIELDS}/budget", {"label": "Yearly budget"}, format="json")
    assert renamed.json()["label"] == "Yearly budget"


def test_values_are_checked_and_kept_by_type(agent_client, defined):
    values = {
        "budget": 12500.5,
        "renewal": "2027-03-01",
        "vip": True,
        "stage": "customer",
        "source": " fair ",
    }
    body = agent_client.post(
        CONTACTS, {"name": "A", "phone": next_phone(), "custom_fields": values}, format="json"
    ).json()
    assert body["custom_fields"] == {
        "budget": 12500.5,
        "renewal": "2027-03-01",
        "vip": True,
        "stage": "Customer",  # spelt as defined
        "source": "fair",
    }
    fetched = agent_client.get(f"{CONTACTS}/{body['id']}").json()
    assert fetched["custom_fields"] == body["custom_fields"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("budget", "12"),
        ("budget", True),
        ("renewal", "2027-13-01"),
        ("renewal", "01/03/2027"),
        ("vip", "yes"),
        ("stage", "Partner"),
        ("source", "x" * 1001),
        ("nosuch", "x"),
    ],
)
def test_bad_values_are_field_errors_under_their_key(agent_client, defined, key, value):
    body = {"name": "A", "phone": next_phone(), "custom_fields": {key: value}}
    error = assert_error(agent_client.post(CONTACTS, body, format="json"), 400, "validation_error")
    assert f"custom_fields.{key}" in error["details"]
    assert not Contact.objects.exists()


def test_an_edit_changes_the_keys_it_names_and_null_clears(agent_client, agent, defined):
    contact = make_contact(actor=agent)
    url = f"{CONTACTS}/{contact.id}"
    agent_client.patch(url, {"custom_fields": {"vip": True, "budget": 3}}, format="json")
    body = agent_client.patch(url, {"custom_fields": {"budget": None}}, format="json").json()
    assert body["custom_fields"] == {"vip": True}


def test_deactivating_hides_values_without_losing_them_and_phones_see_it(
    admin_client, agent_client, agent, defined
):
    contact = make_contact(actor=agent)
    url = f"{CONTACTS}/{contact.id}"
    agent_client.patch(url, {"custom_fields": {"vip": True, "budget": 3}}, format="json")
    cursor = agent_client.get("/api/v1/sync/contacts").json()["cursor"]

    assert admin_client.delete(f"{FIELDS}/vip").status_code == 204
    assert ContactField.objects.get(key="vip").active is False
    assert agent_client.get(url).json()["custom_fields"] == {"budget": 3}
    feed = agent_client.get(f"/api/v1/sync/contacts?cursor={cursor}").json()
    assert [c["custom_fields"] for c in feed["changes"]] == [{"budget": 3}]  # a new version
    # An inactive key cannot be written...
    assert_error(agent_client.patch(url, {"custom_fields": {"vip": False}}, format="json"), 400)
    # ...and activating it again brings the values back.
    admin_client.patch(f"{FIELDS}/vip", {"active": True}, format="json")
    assert agent_client.get(url).json()["custom_fields"] == {"budget": 3, "vip": True}


def test_batch_upserts_check_custom_fields_too(agent, defined):
    from contacts.errors import ContactBatchInvalid

    with pytest.raises(ContactBatchInvalid) as raised:
        contacts_upsert(
            actor=agent,
            items=[
                ContactInput(name="A", phone=next_phone(), custom_fields={"vip": True}),
                ContactInput(name="B", phone=next_phone(), custom_fields={"vip": "no"}),
            ],
        )
    assert list(raised.value.errors) == [1]
    assert not Contact.objects.exists()


def test_imports_read_custom_fields_columns_and_exports_write_them(agent, defined):
    from contacts.resources import ContactResource, ContactRowReader, import_rows

    reader = ContactRowReader(
        actor=agent,
        headers=["Name", "Phone", "custom_fields.budget", "custom_fields.vip", "custom_fields"],
    )
    rows = [
        (2, ["Ada", "+12022000001", "1,200", "yes", '{"stage": "lead"}']),
        (3, ["Bob", "+12022000002", "", "no", ""]),
    ]
    batch = import_rows(reader=reader, rows=rows, dry_run=False)
    assert batch.errors == {}
    ada = Contact.objects.get(name="Ada")
    assert ada.custom_fields == {"stage": "Lead", "budget": 1200, "vip": True}
    assert Contact.objects.get(name="Bob").custom_fields == {"vip": False}

    bad = import_rows(
        reader=reader, rows=[(2, ["Cy", "+12022000003", "lots", "", ""])], dry_run=False
    )
    assert "custom_fields.budget" in bad.errors[2]

    exported = ContactResource().export()
    row = dict(zip(exported.headers, exported[exported["name"].index("Ada")], strict=True))
    assert json.loads(row["custom_fields"]) == ada.custom_fields


def test_files_without_custom_fields_still_import(agent, defined):
    from contacts.resources import ContactRowReader, import_rows

    reader = ContactRowReader(actor=agent, headers=["name", "phone"])
    assert (
        import_rows(reader=reader, rows=[(2, ["Ada", "+12022000001"])], dry_run=False).errors == {}
    )
    assert Contact.objects.get().custom_fields == {}
