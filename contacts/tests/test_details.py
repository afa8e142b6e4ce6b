"""The richer contact: email, company, title and notes, on every path that writes a contact."""

from datetime import UTC, datetime, timedelta

import pytest

from contacts.models import Contact
from contacts.services import ContactInput, contact_create, contact_update, contacts_upsert
from contacts.tests.factories import next_phone
from crm.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
FULL = {
    "name": "Ada Lovelace",
    "phone": "+12022345678",
    "email": "  Ada@Example.COM ",
    "company": "Analytical  Engines Ltd",
    "title": "Countess",
    "notes": "Met at the exhibition.\n\tLikes punch cards.",
}


def test_it_creates_a_contact_with_its_details(agent_client):
    body = agent_client.post(CONTACTS, FULL, format="json").json()
    assert (body["email"], body["company"], body["title"]) == (
        "ada@example.com",  # stored lower-case
        "Analytical Engines Ltd",  # one line: runs of spaces are one
        "Countess",
    )
    assert body["notes"] == "Met at the exhibition.\n\tLikes punch cards."  # prose keeps its lines
    assert agent_client.get(f"{CONTACTS}/{body['id']}").json()["email"] == "ada@example.com"


def test_details_are_optional_and_empty_when_unknown(agent_client):
    body = agent_client.post(CONTACTS, {"name": "Bob", "phone": "+12022345679"}).json()
    assert (body["email"], body["company"], body["title"], body["notes"]) == ("", "", "", "")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-address"),
        ("email", "a@b"),
        ("email", 42),
        ("company", "x" * 201),
        ("company", "bell\x07"),
        ("title", "line\nbreak"),
        ("notes", "x" * 10_001),
        ("notes", "nul\x00"),
    ],
)
def test_bad_details_are_field_errors_and_nothing_is_stored(agent_client, field, value):
    body = {"name": "Bad", "phone": "+12022345678", field: value}
    error = assert_error(agent_client.post(CONTACTS, body, format="json"), 400, "validation_error")
    assert field in error["details"]
    assert not Contact.objects.exists()


def test_an_edit_changes_only_the_details_it_names(agent_client):
    created = agent_client.post(CONTACTS, FULL, format="json").json()
    url = f"{CONTACTS}/{created['id']}"
    patched = agent_client.patch(url, {"title": "", "company": "Babbage & Co"}, format="json")
    assert patched.status_code == 200
    body = patched.json()
    assert (body["title"], body["company"], body["email"]) == (
        "",
        "Babbage & Co",
        "ada@example.com",
    )
    put = agent_client.put(url, {"name": "Ada L.", "phone": "+12022345678"}, format="json").json()
    assert put["notes"] == FULL["notes"]  # not named, kept
    assert put["version"] > created["version"]


def test_an_older_record_replaces_the_name_but_keeps_details_it_lacks(agent):
    contact_create(
        actor=agent,
        item=ContactInput(
            name="Newer", phone="+12022345678", created_at=T0 + timedelta(days=1),
            email="new@example.com", company="Newco",
        ),
    )  # fmt: skip
    [outcome] = contacts_upsert(
        actor=agent,
        items=[ContactInput(name="Older", phone="+12022345678", created_at=T0, company="Oldco")],
    )
    assert outcome.result == "replaced"
    contact = Contact.objects.get()
    assert (contact.name, contact.company, contact.email) == ("Older", "Oldco", "new@example.com")
    assert outcome.changes["company"] == ["Newco", "Oldco"]
    assert "email" not in outcome.changes


def test_sync_pushes_and_the_feed_carry_the_details(agent_client, agent):
    device = {"id": "pixel"}
    new = {**FULL, "client_id": "local-1"}
    answer = agent_client.post("/api/v1/sync", {"device": device, "contacts": [new]}, format="json")
    result = answer.json()["contacts"]["results"][0]
    assert result["result"] == "created"
    assert result["contact"]["company"] == "Analytical Engines Ltd"
    edit = {"id": result["id"], "base_version": result["contact"]["version"], "email": "x@y.org"}
    answer = agent_client.post(
        "/api/v1/sync", {"device": device, "contacts": [edit]}, format="json"
    )
    assert answer.json()["contacts"]["results"][0]["result"] == "updated"
    [row] = agent_client.get("/api/v1/sync/contacts").json()["changes"]
    assert (row["email"], row["title"], row["notes"]) == ("x@y.org", "Countess", FULL["notes"])
    bad = {"id": result["id"], "base_version": row["version"], "email": "nope"}
    answer = agent_client.post("/api/v1/sync", {"device": device, "contacts": [bad]}, format="json")
    item = answer.json()["contacts"]["results"][0]
    assert (item["result"], list(item["errors"])) == ("error", ["email"])


def test_the_service_refuses_what_the_api_refuses(agent):
    contact = contact_create(actor=agent, item=ContactInput(name="A", phone="+12022345678")).contact
    from contacts.errors import ContactInvalid

    with pytest.raises(ContactInvalid) as refused:
        contact_update(actor=agent, contact=contact, email="@", notes="\x1b[31m")
    assert set(refused.value.errors) == {"email", "notes"}


def test_files_with_and_without_the_detail_columns_import(tmp_path, admin_user):
    from django.core.management import call_command

    old = tmp_path / "old.csv"
    old.write_text("name,phone\nOld Style,+12022345601\n")
    new = tmp_path / "new.csv"
    new.write_text(
        "name,phone,email,company,title,notes\n"
        'New Style,+12022345602,NEW@example.com,Acme,CTO,"two\nlines"\n'
    )
    for path in (old, new):
        call_command("import_contacts", str(path), "--as", admin_user.email, verbosity=0)
    old_row = Contact.objects.get(name="Old Style")
    new_row = Contact.objects.get(name="New Style")
    assert (old_row.email, old_row.company) == ("", "")
    assert (new_row.email, new_row.company, new_row.title) == ("new@example.com", "Acme", "CTO")
    assert new_row.notes == "two\nlines"


def test_a_bad_detail_in_a_file_names_its_row_and_imports_nothing(tmp_path, admin_user):
    from django.core.management import CommandError, call_command

    path = tmp_path / "bad.csv"
    path.write_text("name,phone,email\nFine,+12022345601,\nBad,+12022345602,not-an-email\n")
    import io

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 rows are invalid"):
        call_command("import_contacts", str(path), "--as", admin_user.email, stdout=out, stderr=err)
    assert "row 2 (line 3): email: Enter a valid email address." in out.getvalue() + err.getvalue()
    assert not Contact.objects.exists()


def test_the_admin_form_edits_details_through_the_service(client, admin_user):
    client.force_login(admin_user)
    contact = contact_create(actor=admin_user, item=ContactInput(name="A", phone="+12022345678"))
    url = f"/admin/contacts/contact/{contact.contact.pk}/change/"
    form = {
        "name": "A", "phone": "+12022345678", "email": "A@B.example", "company": "Co",
        "title": "", "notes": "", "base_version": contact.contact.version,
    }  # fmt: skip
    assert client.post(url, form).status_code == 302
    saved = Contact.objects.get()
    assert (saved.email, saved.company) == ("a@b.example", "Co")
    form["email"] = "nope"
    response = client.post(url, form)
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors


def test_tags_are_trimmed_unique_without_case_and_keep_the_first_spelling(agent_client):
    body = {"name": "T", "phone": "+12022345678", "tags": [" VIP ", "vip", "Lead", "lead", "b2b"]}
    created = agent_client.post(CONTACTS, body, format="json").json()
    assert created["tags"] == ["VIP", "Lead", "b2b"]


@pytest.mark.parametrize(
    "tags", [["x" * 51], [""], ["a\nb"], [f"t{n}" for n in range(51)], "vip", [1]]
)
def test_bad_tags_are_a_field_error(agent_client, tags):
    body = {"name": "T", "phone": "+12022345678", "tags": tags}
    error = assert_error(agent_client.post(CONTACTS, body, format="json"), 400)
    assert "tags" in error["details"]
    assert not Contact.objects.exists()


def test_tag_filters_match_every_tag_named_in_any_case(agent_client):
    for n, tags in enumerate([["VIP", "Lead"], ["vip"], ["lead"], []]):
        body = {"name": f"P{n}", "phone": f"+1202234560{n}", "tags": tags}
        assert agent_client.post(CONTACTS, body, format="json").status_code == 201

    def names(query):
        return sorted(c["name"] for c in agent_client.get(f"{CONTACTS}?{query}").json()["results"])

    assert names("tag=vip") == ["P0", "P1"]
    assert names("tag=VIP&tag=lead") == ["P0"]
    assert names("tag=nobody") == []
    assert names("tag=") == ["P0", "P1", "P2", "P3"]  # empty: no filter


def test_tags_add_and_remove_never_conflict(agent_client, agent):
    created = agent_client.post(
        CONTACTS, {"name": "T", "phone": "+12022345678", "tags": ["a"]}, format="json"
    ).json()
    url, stale = f"{CONTACTS}/{created['id']}", created["version"]
    agent_client.patch(url, {"name": "Renamed", "base_version": stale}, format="json")
    # Another phone, still at the old version, adds and removes tags: merged, not refused.
    edit = {"tags_add": ["b", "A"], "tags_remove": ["x"], "base_version": stale}
    merged = agent_client.patch(url, edit, format="json")
    assert merged.status_code == 200
    assert merged.json()["tags"] == ["a", "b"]
    assert merged.json()["name"] == "Renamed"
    # Replacing the whole list with a stale version is an edit like any other: a conflict.
    replaced = agent_client.patch(url, {"tags": ["z"], "base_version": stale}, format="json")
    error = assert_error(replaced, 409, "conflict")
    assert error["details"]["conflicting_fields"] == ["tags"]  # the tags_add above changed them
    gone = agent_client.patch(url, {"tags_remove": ["A"]}, format="json").json()
    assert gone["tags"] == ["b"]


def test_sync_feed_and_pushes_carry_tags(agent_client):
    device = {"id": "pixel"}
    new = {"name": "S", "phone": "+12022345678", "tags": ["x", "X", "y"]}
    answer = agent_client.post("/api/v1/sync", {"device": device, "contacts": [new]}, format="json")
    result = answer.json()["contacts"]["results"][0]
    assert result["contact"]["tags"] == ["x", "y"]
    edit = {"id": result["id"], "base_version": 0, "tags_add": ["z"]}  # stale, set operation
    answer = agent_client.post(
        "/api/v1/sync", {"device": device, "contacts": [edit]}, format="json"
    )
    assert answer.json()["contacts"]["results"][0]["result"] == "updated"
    [row] = agent_client.get("/api/v1/sync/contacts").json()["changes"]
    assert row["tags"] == ["x", "y", "z"]
    assert "tags_key" not in row


def test_a_tags_column_imports_and_exports(tmp_path, admin_user, admin_client):
    from django.core.management import call_command

    path = tmp_path / "tags.csv"
    path.write_text('name,phone,tags\nT,+12022345601,"customer; VIP, customer"\n')
    call_command("import_contacts", str(path), "--as", admin_user.email, verbosity=0)
    assert Contact.objects.get().tags == ["customer", "VIP"]
    from contacts.resources import ContactResource

    dataset = ContactResource().export()
    assert dataset.dict[0]["tags"] == "customer, VIP"


def test_rest_reads_sum_up_each_contacts_calls_without_a_new_version(
    agent_client, agent, django_assert_num_queries
):
    from calls.tests.factories import make_call

    rich = agent_client.post(CONTACTS, {"name": "Rich", "phone": "+12022345601"}).json()
    agent_client.post(CONTACTS, {"name": "Quiet", "phone": "+12022345602"})
    for minutes in (1, 2, 3):
        make_call(user=agent, phone="+12022345601", started_at=f"2026-01-01T09:0{minutes}:00Z")
    version = Contact.objects.get(pk=rich["id"]).version
    # user, the planner's estimate, the page, the page's calls summed up with its numbers
    # against the do-not-call entries (one query)
    with django_assert_num_queries(4):
        page = agent_client.get(CONTACTS).json()["results"]
    summary = {c["name"]: (c["call_count"], c["last_call_at"]) for c in page}
    assert summary == {"Quiet": (0, None), "Rich": (3, "2026-01-01T09:03:00Z")}
    detail = agent_client.get(f"{CONTACTS}/{rich['id']}").json()
    assert (detail["call_count"], detail["last_call_at"]) == (3, "2026-01-01T09:03:00Z")
    assert detail["version"] == version  # calls never bump a contact's version
    [change] = [c for c in agent_client.get("/api/v1/sync/contacts").json()["changes"]
                if c["id"] == rich["id"]]  # fmt: skip
    assert "call_count" not in change  # the feed does not carry them


def test_the_list_query_count_does_not_grow_with_calls(
    agent_client, agent, django_assert_num_queries
):
    from calls.tests.factories import make_call

    for n in range(6):
        agent_client.post(CONTACTS, {"name": f"P{n}", "phone": f"+1202234560{n}"})
        make_call(user=agent, phone=f"+1202234560{n}")
    agent_client.get(CONTACTS)  # the estimate is remembered
    with django_assert_num_queries(3):  # user, the page, its calls summed up and DNC flags
        assert len(agent_client.get(CONTACTS).json()["results"]) == 6


def test_lookup_finds_the_live_holder_of_a_number_in_any_format(
    agent_client, django_assert_num_queries
):
    created = agent_client.post(CONTACTS, {"name": "Caller", "phone": "+12022345678"}).json()
    with django_assert_num_queries(2):  # user, the contact (on the live-number index)
        found = agent_client.get(f"{CONTACTS}/lookup", {"phone": "(202) 234-5678"})
    assert found.status_code == 200
    assert (found.json()["id"], found.json()["call_count"]) == (created["id"], 0)
    assert_error(agent_client.get(f"{CONTACTS}/lookup", {"phone": "+12022345679"}), 404)
    error = assert_error(agent_client.get(f"{CONTACTS}/lookup", {"phone": "nonsense"}), 400)
    assert "phone" in error["details"]
    assert_error(agent_client.get(f"{CONTACTS}/lookup"), 400)
    agent_client.delete(f"{CONTACTS}/{created['id']}")
    assert_error(agent_client.get(f"{CONTACTS}/lookup", {"phone": "+12022345678"}), 404)


def test_company_and_has_calls_filters(agent_client, agent):
    from calls.tests.factories import make_call

    for n, company in enumerate(["ACME S.A.", "acme s.a.", "Other"]):
        body = {"name": f"P{n}", "phone": f"+1202234560{n}", "company": company}
        agent_client.post(CONTACTS, body, format="json")
    make_call(user=agent, phone="+12022345600")

    def names(**params):
        return sorted(c["name"] for c in agent_client.get(CONTACTS, params).json()["results"])

    assert names(company="Acme S.A.") == ["P0", "P1"]
    assert names(has_calls="true") == ["P0"]
    assert names(has_calls="false") == ["P1", "P2"]
    assert names(company="acme s.a.", has_calls="false") == ["P1"]
    assert_error(agent_client.get(CONTACTS, {"has_calls": "maybe"}), 400)


def test_search_also_matches_email_and_company_without_accents_or_case(agent_client):
    for name, extra in [
        ("Ada", {"email": "ada@analytical.example", "company": "Société Générale"}),
        ("Bob", {"email": "bob.stone@acme.io", "company": "ACME S.A."}),
        ("Cy", {}),
    ]:
        agent_client.post(CONTACTS, {"name": name, "phone": next_phone(), **extra}, format="json")

    def names(query):
        page = agent_client.get(CONTACTS, {"search": query}).json()["results"]
        return sorted(c["name"] for c in page)

    assert names("acme") == ["Bob"]  # the company, and the address's domain
    assert names("generale") == ["Ada"]  # accents and case ignored
    assert names("analytical") == ["Ada"]  # a word of the address
    assert names("stone") == ["Bob"]
