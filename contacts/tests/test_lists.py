"""Contact lists: managed by managers and admins, read by everyone, kept by phones (the lists
feed), membership carried by the contacts themselves (their ``lists`` and version)."""

import threading

import pytest
from django.db import connections

from contacts.models import Contact, ContactList, ListMembership
from contacts.services import contact_delete, contact_update
from contacts.tests.factories import make_contact
from crm.tests.helpers import assert_error
from ledger.models import Activity

pytestmark = pytest.mark.django_db

LISTS = "/api/v1/lists"
LIST_KEYS = {
    "id", "name", "description", "contact_count", "created_by", "created_at", "updated_at",
    "version",
}  # fmt: skip


def _new_list(client, name="Spring fair", **extra):
    response = client.post(LISTS, {"name": name, **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_managers_create_lists_and_everyone_reads_them(manager_client, agent_client, manager):
    created = _new_list(manager_client, description="Leads met at the fair")
    assert set(created) == LIST_KEYS
    assert (created["contact_count"], created["created_by"]) == (0, str(manager.id))
    assert agent_client.get(f"{LISTS}/{created['id']}").json()["name"] == "Spring fair"
    assert agent_client.get(LISTS).json()["count"] == 1
    assert_error(agent_client.post(LISTS, {"name": "Mine"}, format="json"), 403)


def test_names_are_unique_without_regard_to_case(manager_client):
    _new_list(manager_client, "VIP")
    error = assert_error(manager_client.post(LISTS, {"name": " vip "}, format="json"), 400)
    assert "name" in error["details"]
    other = _new_list(manager_client, "Other")
    renamed = manager_client.patch(f"{LISTS}/{other['id']}", {"name": "Vip"}, format="json")
    assert "name" in assert_error(renamed, 400)["details"]


def test_members_are_added_once_and_the_contacts_change(manager_client, manager, agent):
    contacts = [make_contact(actor=agent) for _ in range(3)]
    before = {c.pk: c.version for c in contacts}
    created = _new_list(manager_client)
    url = f"{LISTS}/{created['id']}/contacts"
    ids = [str(c.id) for c in contacts[:2]]
    assert manager_client.post(url, {"contact_ids": ids}, format="json").json() == {
        "added": 2,
        "already": 0,
    }
    again = manager_client.post(url, {"contact_ids": [str(c.id) for c in contacts]}, format="json")
    assert again.json() == {"added": 1, "already": 2}
    for contact in Contact.objects.filter(pk__in=before):
        assert [str(pk) for pk in contact.lists] == [created["id"]]
        assert contact.version > before[contact.pk]  # phones learn of it
    membership = ListMembership.objects.get(contact=contacts[0])
    assert membership.added_by == manager
    assert Activity.objects.filter(action="contacts.list.member_added").count() == 3
    page = manager_client.get(url).json()
    assert page["count"] == 3
    assert manager_client.get(f"{LISTS}/{created['id']}").json()["contact_count"] == 3


def test_an_unknown_contact_adds_none(manager_client, agent):
    contact = make_contact(actor=agent)
    created = _new_list(manager_client)
    body = {"contact_ids": [str(contact.id), "6d1d4a5e-1111-4111-8111-111111111111"]}
    error = assert_error(
        manager_client.post(f"{LISTS}/{created['id']}/contacts", body, format="json"), 400
    )
    assert "contact_ids" in error["details"]
    assert not ListMembership.objects.exists()


def test_removing_members_and_the_list_filter(manager_client, agent_client, agent):
    on, off = make_contact(actor=agent, name="On"), make_contact(actor=agent, name="Off")
    created = _new_list(manager_client)
    url = f"{LISTS}/{created['id']}/contacts"
    manager_client.post(url, {"contact_ids": [str(on.id), str(off.id)]}, format="json")
    removed = manager_client.post(f"{url}/remove", {"contact_ids": [str(off.id)]}, format="json")
    assert removed.json() == {"removed": 1}
    listed = agent_client.get(f"/api/v1/contacts?list={created['id']}").json()
    assert [c["name"] for c in listed["results"]] == ["On"]
    assert listed["results"][0]["lists"] == [created["id"]]
    assert Contact.objects.get(pk=off.pk).lists == []


def test_contact_count_counts_live_members_with_one_query_per_page(
    manager_client, agent, django_assert_max_num_queries
):
    lists = [_new_list(manager_client, f"List {n}") for n in range(5)]
    contacts = [make_contact(actor=agent) for _ in range(4)]
    for n, created in enumerate(lists):
        ids = [str(c.id) for c in contacts[: n % 4 + 1]]
        url = f"{LISTS}/{created['id']}/contacts"
        manager_client.post(url, {"contact_ids": ids}, format="json")
    contact_delete(actor=agent, contact=contacts[0])
    # 1 the user (token), 2 the count, 3 the page, 4 the members counted for the page
    with django_assert_max_num_queries(4):
        page = manager_client.get(LISTS).json()
    assert [entry["contact_count"] for entry in page["results"]] == [0, 1, 2, 3, 0]


def test_deleting_a_list_keeps_its_contacts_and_phones_see_both(
    manager_client, agent_client, agent
):
    contact = make_contact(actor=agent)
    created = _new_list(manager_client)
    manager_client.post(
        f"{LISTS}/{created['id']}/contacts", {"contact_ids": [str(contact.id)]}, format="json"
    )
    lists_cursor = agent_client.get("/api/v1/sync/lists").json()["cursor"]
    contacts_cursor = agent_client.get("/api/v1/sync/contacts").json()["cursor"]

    assert manager_client.delete(f"{LISTS}/{created['id']}").status_code == 204
    assert Contact.live.filter(pk=contact.pk).exists()
    lists_feed = agent_client.get(f"/api/v1/sync/lists?cursor={lists_cursor}").json()
    assert lists_feed["changes"] == [
        {"id": created["id"], "deleted": True, "version": lists_feed["changes"][0]["version"]}
    ]
    contacts_feed = agent_client.get(f"/api/v1/sync/contacts?cursor={contacts_cursor}").json()
    assert [(c["id"], c["lists"]) for c in contacts_feed["changes"]] == [(str(contact.id), [])]
    # A phone that starts from nothing never hears of the deleted list.
    assert agent_client.get("/api/v1/sync/lists").json()["changes"] == []
    assert_error(agent_client.get(f"{LISTS}/{created['id']}"), 404)


def test_the_lists_feed_carries_names_and_renames(manager_client, agent_client):
    created = _new_list(manager_client, "Before")
    first = agent_client.get("/api/v1/sync/lists").json()
    assert [(c["id"], c["name"]) for c in first["changes"]] == [(created["id"], "Before")]
    assert "contact_count" not in first["changes"][0]  # computed, not versioned
    manager_client.patch(f"{LISTS}/{created['id']}", {"name": "After"}, format="json")
    delta = agent_client.get(f"/api/v1/sync/lists?cursor={first['cursor']}").json()
    assert [c["name"] for c in delta["changes"]] == ["After"]
    assert delta["changes"][0]["version"] > first["changes"][0]["version"]


def test_a_stale_edit_merges_with_a_membership_change(manager_client, agent_client, agent):
    contact = make_contact(actor=agent)
    stale = contact.version
    created = _new_list(manager_client)
    manager_client.post(
        f"{LISTS}/{created['id']}/contacts", {"contact_ids": [str(contact.id)]}, format="json"
    )
    edit = {"name": "Renamed on the phone", "base_version": stale}
    response = agent_client.patch(f"/api/v1/contacts/{contact.id}", edit, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["lists"] == [created["id"]]


@pytest.mark.django_db(transaction=True)
def test_membership_changes_and_contact_edits_at_once_do_not_deadlock(manager, agent):
    from contacts.lists import list_create, list_members_add, list_members_remove

    contacts = [make_contact(actor=agent) for _ in range(20)]
    target = list_create(actor=manager, name="Busy")
    ids = [c.pk for c in contacts]
    errors = []
    barrier = threading.Barrier(3)

    def manager_side():
        try:
            barrier.wait()
            for _ in range(5):
                list_members_add(actor=manager, contact_list=target, contact_ids=ids)
                list_members_remove(actor=manager, contact_list=target, contact_ids=ids[::2])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def agent_side(offset):
        try:
            barrier.wait()
            for n in range(10):
                contact = contacts[(n + offset) % len(contacts)]
                contact_update(actor=agent, contact=contact, notes=f"note {n}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=manager_side)] + [
        threading.Thread(target=agent_side, args=(k,)) for k in (0, 7)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    # The copy on the contacts agrees with the membership rows.
    members = set(ListMembership.objects.filter(list=target).values_list("contact_id", flat=True))
    on_list = set(Contact.objects.filter(lists__contains=[target.pk]).values_list("pk", flat=True))
    assert members == on_list == set(ids[1::2]) | (set(ids) - set(ids[::2]))
    assert ContactList.objects.count() == 1


def test_stats_count_the_live_book(manager_client, agent_client, agent, django_assert_num_queries):
    from datetime import UTC, datetime

    from calls.tests.factories import make_call
    from contacts.services import ContactInput, contact_create

    old = contact_create(
        actor=agent,
        item=ContactInput(
            name="Old", phone="+12025550100", created_at=datetime(2024, 1, 1, tzinfo=UTC)
        ),
    ).contact
    recent = [make_contact(actor=agent) for _ in range(2)]
    contact_update(actor=agent, contact=old, tags=["VIP", "lead"])
    contact_update(actor=agent, contact=recent[0], tags=["vip"])
    make_call(user=agent, phone=old.phone_normalized)
    make_call(user=agent, phone=old.phone_normalized)
    gone = make_contact(actor=agent)
    contact_update(actor=agent, contact=gone, tags=["lead"])
    make_call(user=agent, phone=gone.phone_normalized)
    contact_delete(actor=agent, contact=gone)
    created = _new_list(manager_client)
    manager_client.post(
        f"{LISTS}/{created['id']}/contacts", {"contact_ids": [str(old.id)]}, format="json"
    )
    # 1 the user (token), 2 totals, 3 contacts with calls, 4 by tag, 5 by list, 6 on DNC
    with django_assert_num_queries(6):
        stats = agent_client.get("/api/v1/contacts/stats").json()
    assert stats == {
        "total": 3,
        "created_last_7_days": 2,
        "with_calls": 1,
        "dnc": 0,
        "by_tag": {"VIP": 2, "lead": 1},
        "by_list": {created["id"]: 1},
    }
