"""Field-level merge: a stale edit is applied unless a field it changes changed after its
base_version (REST, sync, and two phones at once)."""

import threading

import pytest
from django.db import connections

from contacts.errors import VersionConflict
from contacts.lists import list_create, list_members_add
from contacts.merge import FLOOR, field_version, field_versions_stamped, fields_changed_since
from contacts.models import Contact
from contacts.services import contact_delete, contact_update
from contacts.tests.factories import make_contact
from crm.tests.helpers import assert_error

CONTACTS = "/api/v1/contacts"
SYNC = "/api/v1/sync"


def test_a_row_without_a_map_has_every_field_at_its_own_version():
    assert field_version({}, 7, "name") == 7
    assert fields_changed_since({}, 7, 6, ["name", "email"]) == ["email", "name"]
    assert fields_changed_since({}, 7, 7, ["name"]) == []


def test_a_write_pins_the_floor_then_stamps_what_it_changed():
    stamped = field_versions_stamped({}, 7, ["email"], 9)
    assert stamped == {FLOOR: 7, "email": 9}
    assert fields_changed_since(stamped, 9, 7, ["name", "email"]) == ["email"]
    assert fields_changed_since(stamped, 9, 6, ["name"]) == ["name"]  # before the floor: unknown
    again = field_versions_stamped(stamped, 9, ["name"], 12)
    assert again == {FLOOR: 7, "email": 9, "name": 12}  # the floor stays where it was


@pytest.mark.django_db
def test_a_stale_rest_edit_of_another_field_is_merged(agent_client, agent):
    contact = make_contact(actor=agent, name="Ada")
    stale = contact.version
    assert agent_client.patch(f"{CONTACTS}/{contact.id}", {"email": "ada@x.org"}).status_code == 200
    merged = agent_client.patch(
        f"{CONTACTS}/{contact.id}", {"company": "ACME", "base_version": stale}, format="json"
    )
    assert merged.status_code == 200, merged.content
    body = merged.json()
    assert (body["email"], body["company"]) == ("ada@x.org", "ACME")  # both edits stand


@pytest.mark.django_db
def test_a_stale_rest_edit_of_the_same_field_is_409_naming_it(agent_client, agent):
    contact = make_contact(actor=agent, name="Ada")
    stale = contact.version
    agent_client.patch(f"{CONTACTS}/{contact.id}", {"email": "ada@x.org", "title": "CTO"})
    edit = {
        "email": "other@x.org",
        "company": "ACME",
        "name": "Ada",
        "phone": contact.phone,
        "base_version": stale,
    }
    error = assert_error(agent_client.put(f"{CONTACTS}/{contact.id}", edit, format="json"), 409)
    assert error["code"] == "conflict"
    # Only what the edit changes counts: the name it sends is what the server has.
    assert error["details"]["conflicting_fields"] == ["email"]
    assert error["details"]["contact"]["email"] == "ada@x.org"
    assert Contact.objects.get(pk=contact.pk).company == ""  # nothing of the edit applied


@pytest.mark.django_db
def test_custom_fields_merge_key_by_key(agent_client, agent, admin_client):
    for key in ("budget", "source"):
        admin_client.post(
            "/api/v1/contact-fields", {"key": key, "label": key, "type": "text"}, format="json"
        )
    contact = make_contact(actor=agent)
    stale = contact.version
    url = f"{CONTACTS}/{contact.id}"
    agent_client.patch(url, {"custom_fields": {"budget": "10k"}}, format="json")
    merged = agent_client.patch(
        url, {"custom_fields": {"source": "fair"}, "base_version": stale}, format="json"
    )
    assert merged.json()["custom_fields"] == {"budget": "10k", "source": "fair"}
    conflict = agent_client.patch(
        url, {"custom_fields": {"budget": "20k"}, "base_version": stale}, format="json"
    )
    assert assert_error(conflict, 409, "conflict")["details"]["conflicting_fields"] == [
        "custom_fields.budget"
    ]


@pytest.mark.django_db
def test_a_sync_edit_merges_or_names_its_conflicting_fields(agent_client, agent):
    contact = make_contact(actor=agent, name="Ada")
    stale = contact.version
    contact_update(actor=agent, contact=contact, name="Ada L.", notes="office note")
    body = agent_client.post(
        SYNC,
        {
            "device": {"id": "p1"},
            "contacts": [
                {"id": str(contact.id), "base_version": stale, "title": "Countess"},
                {"id": str(contact.id), "base_version": stale, "name": "Ada K.", "notes": "n"},
            ],
        },
        format="json",
    ).json()
    merged, conflict = body["contacts"]["results"]
    assert merged["result"] == "updated"
    assert merged["contact"]["title"] == "Countess"
    assert merged["contact"]["name"] == "Ada L."
    assert conflict["result"] == "conflict"
    assert conflict["conflicting_fields"] == ["name", "notes"]
    server_row = next(c for c in body["contacts"]["changes"] if c["id"] == str(contact.id))
    assert server_row["name"] == "Ada L."


@pytest.mark.django_db
def test_a_stale_delete_always_conflicts_and_names_what_changed(agent, manager):
    kept = make_contact(actor=agent)
    stale = kept.version
    contact_update(actor=agent, contact=kept, email="k@x.org")
    with pytest.raises(VersionConflict) as raised:
        contact_delete(actor=agent, contact=kept, base_version=stale)
    assert raised.value.conflicting_fields == ["email"]

    listed = make_contact(actor=agent)
    stale = listed.version
    campaign = list_create(actor=manager, name="Campaign")
    list_members_add(actor=manager, contact_list=campaign, contact_ids=[listed.pk])
    with pytest.raises(VersionConflict) as raised:
        contact_delete(actor=agent, contact=listed, base_version=stale)
    assert raised.value.conflicting_fields == ["lists"]
    assert Contact.live.filter(pk=listed.pk).exists()

    gone = make_contact(actor=agent)
    deleted = contact_delete(actor=agent, contact=gone, base_version=gone.version)
    assert deleted.contact.deleted_at is not None


def _phones_push_at_once(client_for, user, items: list[dict]) -> list[dict]:
    """Each item pushed by its own phone (thread), all released together; their results."""
    barrier = threading.Barrier(len(items))
    answers, errors = [None] * len(items), []

    def phone(i):
        try:
            client = client_for(user)
            barrier.wait()
            answers[i] = client.post(
                SYNC, {"device": {"id": f"p{i}"}, "contacts": [items[i]]}, format="json"
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=phone, args=(i,)) for i in range(len(items))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return [answer.json()["contacts"]["results"][0] for answer in answers]


@pytest.mark.django_db(transaction=True)
def test_two_phones_editing_different_fields_at_once_both_win(client_for, agent):
    contact = make_contact(actor=agent, name="Ada")
    stale = contact.version
    edits = [{"email": "ada@x.org"}, {"company": "ACME"}, {"title": "CTO"}, {"notes": "hi"}]
    items = [{"id": str(contact.id), "base_version": stale, **edit} for edit in edits]
    results = _phones_push_at_once(client_for, agent, items)
    assert [r["result"] for r in results] == ["updated"] * len(edits)
    final = Contact.objects.get(pk=contact.pk)
    both = (final.email, final.company, final.title, final.notes)
    assert both == ("ada@x.org", "ACME", "CTO", "hi")
    assert final.version > stale


@pytest.mark.django_db(transaction=True)
def test_two_phones_editing_the_same_field_at_once_one_conflicts(client_for, agent):
    contact = make_contact(actor=agent, name="Ada")
    names = ["Ada One", "Ada Two", "Ada Three"]
    items = [{"id": str(contact.id), "base_version": contact.version, "name": n} for n in names]
    results = _phones_push_at_once(client_for, agent, items)
    winners = [i for i, r in enumerate(results) if r["result"] == "updated"]
    assert len(winners) == 1
    assert all(r["conflicting_fields"] == ["name"] for r in results if r["result"] == "conflict")
    assert Contact.objects.get(pk=contact.pk).name == names[winners[0]]
