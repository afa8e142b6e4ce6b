"""Bulk operations: set-based, one version and one activity row per changed contact, and an
undo that puts back exactly what the operation changed."""

import pytest

from accounts.tests.factories import UserFactory
from contacts.lists import list_create
from contacts.models import BulkChange, Contact
from contacts.services import contact_update
from contacts.tests.factories import make_contact
from crm.tests.helpers import assert_error
from ledger.models import Activity

pytestmark = pytest.mark.django_db

BULK = "/api/v1/contacts/bulk"
RESULT_KEYS = {"id", "action", "processed", "succeeded", "failed", "errors"}


def _bulk(client, **body):
    response = client.post(BULK, body, format="json")
    assert response.status_code == 200, response.content
    assert set(response.json()) == RESULT_KEYS
    return response.json()


def _undo(client, operation_id):
    response = client.post(f"{BULK}/{operation_id}/undo", format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_add_tags_by_ids_changes_each_contact_once(manager_client, agent):
    tagged = make_contact(actor=agent, name="Tagged")
    contact_update(actor=agent, contact=tagged, tags=["VIP"])
    plain = make_contact(actor=agent, name="Plain")
    before = {c.pk: c.version for c in Contact.objects.all()}
    answer = _bulk(
        manager_client,
        action="add_tags",
        contact_ids=[str(tagged.id), str(plain.id)],
        data={"tags": ["vip", "Fair 2026"]},
    )
    assert (answer["processed"], answer["succeeded"], answer["failed"]) == (2, 2, 0)
    tagged.refresh_from_db()
    plain.refresh_from_db()
    assert tagged.tags == ["VIP", "Fair 2026"]  # first spelling kept
    assert plain.tags == ["vip", "Fair 2026"]
    assert tagged.version > before[tagged.pk] and plain.version == tagged.version
    rows = Activity.objects.filter(action="contacts.bulk.add_tags")
    assert rows.count() == 2
    assert all(row.changes["operation"] == answer["id"] for row in rows)


def test_unknown_ids_are_per_contact_errors(manager_client, agent):
    contact = make_contact(actor=agent)
    missing = "6d1d4a5e-1111-4111-8111-111111111111"
    answer = _bulk(
        manager_client, action="add_tags", contact_ids=[str(contact.id), missing],
        data={"tags": ["x"]},
    )  # fmt: skip
    assert (answer["processed"], answer["succeeded"], answer["failed"]) == (2, 1, 1)
    assert list(answer["errors"]) == [missing]


def test_by_filter_reaches_what_the_list_would_list(manager_client, agent):
    acme = [make_contact(actor=agent, name=f"A{n}") for n in range(3)]
    other = make_contact(actor=agent, name="Other")
    for contact in acme:
        contact_update(actor=agent, contact=contact, company="ACME", tags=["lead"])
    answer = _bulk(
        manager_client,
        action="remove_tags",
        filter={"company": "acme", "tag": ["lead"]},
        data={"tags": ["LEAD"]},
    )
    assert answer["succeeded"] == 3
    assert all(c.tags == [] for c in Contact.objects.filter(company="ACME"))
    assert Contact.objects.get(pk=other.pk).version == other.version  # not reached


@pytest.mark.parametrize(
    "body",
    [
        {"action": "add_tags", "contact_ids": [], "data": {}},
        {"action": "add_tags", "data": {"tags": ["x"]}},  # neither ids nor filter
        {
            "action": "add_to_list",
            "contact_ids": [],
            "data": {"list": "6d1d4a5e-1111-4111-8111-111111111111"},
        },
        {"action": "set_owner", "contact_ids": [], "data": {}},
        {"action": "delete", "filter": {"nosuch": "x"}},
        {"action": "delete", "filter": {"has_calls": "maybe"}},
    ],
)
def test_bad_operations_are_400_and_change_nothing(manager_client, agent, body):
    contact = make_contact(actor=agent)
    assert_error(manager_client.post(BULK, body, format="json"), 400, "validation_error")
    assert Contact.objects.get(pk=contact.pk).version == contact.version


def test_agents_and_viewers_cannot_run_bulk_operations(agent_client, viewer_client, agent):
    contact = make_contact(actor=agent)
    body = {"action": "delete", "contact_ids": [str(contact.id)]}
    assert_error(agent_client.post(BULK, body, format="json"), 403)
    assert_error(viewer_client.post(BULK, body, format="json"), 403)
    assert Contact.live.filter(pk=contact.pk).exists()


def test_undo_reverts_tags_and_reports_contacts_changed_since(manager_client, agent):
    kept, edited = make_contact(actor=agent, name="Kept"), make_contact(actor=agent, name="Ed")
    contact_update(actor=agent, contact=kept, tags=["old"])
    answer = _bulk(
        manager_client, action="add_tags", contact_ids=[str(kept.id), str(edited.id)],
        data={"tags": ["new"]},
    )  # fmt: skip
    contact_update(actor=agent, contact=Contact.objects.get(pk=edited.pk), notes="touched")
    undone = _undo(manager_client, answer["id"])
    assert (undone["succeeded"], undone["failed"]) == (1, 1)
    assert list(undone["errors"]) == [str(edited.id)]
    assert Contact.objects.get(pk=kept.pk).tags == ["old"]
    assert Contact.objects.get(pk=edited.pk).tags == ["new"]  # left as it is
    assert _undo(manager_client, answer["id"]) == undone  # a retried undo


def test_delete_and_its_undo(manager_client, agent):
    contacts = [make_contact(actor=agent) for _ in range(3)]
    answer = _bulk(manager_client, action="delete", contact_ids=[str(c.id) for c in contacts])
    assert answer["succeeded"] == 3
    assert not Contact.live.exists()
    # One number was taken by a new contact meanwhile: that one cannot come back.
    make_contact(actor=agent, phone=contacts[0].phone_normalized)
    undone = _undo(manager_client, answer["id"])
    assert (undone["succeeded"], undone["failed"]) == (2, 1)
    assert "phone" in undone["errors"][str(contacts[0].id)]
    assert Contact.live.filter(pk__in=[c.pk for c in contacts[1:]]).count() == 2


def test_lists_and_owner_and_their_undo(manager_client, manager, agent):
    target = list_create(actor=manager, name="Campaign")
    new_owner = UserFactory()
    contacts = [make_contact(actor=agent) for _ in range(2)]
    ids = [str(c.id) for c in contacts]
    listed = _bulk(manager_client, action="add_to_list", contact_ids=ids,
                   data={"list": str(target.id)})  # fmt: skip
    assert listed["succeeded"] == 2
    assert all(target.pk in c.lists for c in Contact.objects.all())
    owned = _bulk(manager_client, action="set_owner", contact_ids=ids,
                  data={"owner": str(new_owner.id)})  # fmt: skip
    assert set(Contact.objects.values_list("created_by", flat=True)) == {new_owner.pk}
    assert _undo(manager_client, owned["id"])["succeeded"] == 2
    assert set(Contact.objects.values_list("created_by", flat=True)) == {agent.pk}
    # The owner undo changed the contacts after the list operation: its undo leaves them.
    assert _undo(manager_client, listed["id"])["failed"] == 2
    assert BulkChange.objects.count() == 4


def test_ten_thousand_contacts_take_a_handful_of_queries(
    manager_client, agent, django_assert_max_num_queries
):
    from contacts.services import ContactInput, contacts_upsert

    outcomes = contacts_upsert(
        actor=agent,
        items=[ContactInput(name=f"C{n}", phone=f"+1202555{n:04d}") for n in range(2000)],
    )
    ids = [str(o.contact.pk) for o in outcomes]
    # user, version, lock, update, operation, COPY changes, COPY activity, and the
    # savepoints of the request's transaction
    with django_assert_max_num_queries(10):
        answer = _bulk(manager_client, action="add_tags", contact_ids=ids, data={"tags": ["x"]})
    assert answer["succeeded"] == 2000
    assert Contact.objects.filter(tags_key__contains=["x"]).count() == 2000


def test_tags_stay_at_most_fifty_in_bulk_and_in_edits(manager_client, agent_client, agent):
    full = make_contact(actor=agent, name="Full")
    contact_update(actor=agent, contact=full, tags=[f"t{n}" for n in range(50)])
    room = make_contact(actor=agent, name="Room")
    ids = [str(full.id), str(room.id)]
    answer = _bulk(manager_client, action="add_tags", contact_ids=ids, data={"tags": ["more"]})
    assert (answer["succeeded"], answer["failed"]) == (1, 1)
    assert "tags" in answer["errors"][str(full.id)]
    assert len(Contact.objects.get(pk=full.pk).tags) == 50
    edit = agent_client.patch(f"/api/v1/contacts/{full.id}", {"tags_add": ["x"]}, format="json")
    assert "tags_add" in assert_error(edit, 400, "validation_error")["details"]


def test_undoing_a_list_operation_after_the_list_went_leaves_the_contacts(manager_client, manager,
                                                                          agent):  # fmt: skip
    from contacts.lists import list_delete

    target = list_create(actor=manager, name="Gone soon")
    contact = make_contact(actor=agent)
    listed = _bulk(manager_client, action="add_to_list", contact_ids=[str(contact.id)],
                   data={"list": str(target.id)})  # fmt: skip
    removed = _bulk(manager_client, action="remove_from_list", contact_ids=[str(contact.id)],
                    data={"list": str(target.id)})  # fmt: skip
    assert listed["succeeded"] == removed["succeeded"] == 1
    list_delete(actor=manager, contact_list=target)
    undone = _undo(manager_client, removed["id"])
    assert undone["failed"] == 1
    assert Contact.objects.get(pk=contact.pk).lists == []  # not put back on a deleted list
