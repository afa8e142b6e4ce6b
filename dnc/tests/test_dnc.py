"""Do-not-call: lists, entries, the check, the phones' feed (with expiry nobody writes), and
what contacts and calls show of it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.tests.factories import make_call
from contacts.lists import list_create, list_members_add
from contacts.models import Contact
from contacts.tests.factories import make_contact
from crm.tests.helpers import assert_error
from dnc.models import DncEntry

pytestmark = pytest.mark.django_db

LISTS = "/api/v1/dnc/lists"
ENTRIES = "/api/v1/dnc/entries"
CHECK = "/api/v1/dnc/check"
FEED = "/api/v1/sync/dnc"
LIST_KEYS = {"id", "name", "type", "description", "source", "active", "entry_count",
             "updated_at", "created_at"}  # fmt: skip
ENTRY_KEYS = {"id", "list", "phone", "phone_normalized", "reason", "source", "notes",
              "expires_at", "added_by", "created_at", "active"}  # fmt: skip


def _list(client, name="Company DNC", **extra):
    response = client.post(LISTS, {"name": name, "type": "company", **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _add(client, dnc_list, phone, **extra):
    return client.post(ENTRIES, {"list": dnc_list["id"], "phone": phone, **extra}, format="json")


def _check(client, phone):
    return client.get(CHECK, {"phone": phone}).json()


def test_managers_manage_lists_and_everyone_reads(manager_client, agent_client):
    created = _list(manager_client, description="Opt-outs", source="phone")
    assert set(created) == LIST_KEYS
    assert (created["active"], created["entry_count"]) == (True, 0)
    assert agent_client.get(LISTS).json()["count"] == 1
    assert_error(agent_client.post(LISTS, {"name": "x", "type": "state"}, format="json"), 403)
    bad = manager_client.post(LISTS, {"name": "x", "type": "galactic"}, format="json")
    assert "type" in assert_error(bad, 400)["details"]


def test_an_entry_is_idempotent_per_list_and_number(manager_client, manager):
    dnc_list = _list(manager_client)
    first = _add(manager_client, dnc_list, "(202) 555-0100", reason="asked")
    assert first.status_code == 201
    body = first.json()
    assert set(body) == ENTRY_KEYS
    assert (body["phone_normalized"], body["active"], body["added_by"]) == (
        "+12025550100", True, str(manager.id),
    )  # fmt: skip
    again = _add(manager_client, dnc_list, "+1 202 555 0100")
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    assert manager_client.get(f"{LISTS}/{dnc_list['id']}").json()["entry_count"] == 1


def test_batches_are_all_or_nothing_and_count_what_they_did(manager_client):
    dnc_list = _list(manager_client)
    _add(manager_client, dnc_list, "+12025550100")
    batch = [{"list": dnc_list["id"], "phone": f"+1202555{n:04d}"} for n in range(100, 110)]
    answer = manager_client.post(ENTRIES, batch, format="json")
    assert (answer.status_code, answer.json()) == (201, {"created": 9, "existing": 1})
    bad = [*batch, {"list": dnc_list["id"], "phone": "not a number"}]
    bad[0] = {**bad[0], "expires_at": "2020-01-01T00:00:00Z"}
    error = assert_error(manager_client.post(ENTRIES, bad, format="json"), 400)
    assert set(error["details"]["items"]) == {"0", "10"}
    assert DncEntry.objects.count() == 10
    too_many = [{"list": dnc_list["id"], "phone": "+12025550100"}] * 5001
    error = assert_error(manager_client.post(ENTRIES, too_many, format="json"), 413)
    assert error["details"] == {"limit": 5000, "size": 5001}


def test_check_follows_removal_expiry_and_the_list(manager_client, agent_client):
    dnc_list = _list(manager_client)
    entry = _add(manager_client, dnc_list, "+12025550100", reason="asked").json()
    assert _check(agent_client, "202-555-0100") == {
        "phone_normalized": "+12025550100",
        "blocked": True,
        "entries": [{"list": dnc_list["id"], "reason": "asked", "expires_at": None}],
    }
    manager_client.patch(f"{LISTS}/{dnc_list['id']}", {"active": False}, format="json")
    assert _check(agent_client, "+12025550100")["blocked"] is False
    manager_client.patch(f"{LISTS}/{dnc_list['id']}", {"active": True}, format="json")
    assert _check(agent_client, "+12025550100")["blocked"] is True
    DncEntry.objects.filter(pk=entry["id"]).update(expires_at=timezone.now() - timedelta(1))
    assert _check(agent_client, "+12025550100")["blocked"] is False  # no sweep needed
    assert_error(agent_client.get(CHECK, {"phone": "nope"}), 400)


class OfflinePhone:
    """What the app does: follow the feed, keep the numbers, check them without the server."""

    def __init__(self, client):
        self.client, self.cursor, self.entries = client, None, {}

    def sync(self):
        while True:
            params = {"cursor": self.cursor} if self.cursor else {}
            page = self.client.get(FEED, params).json()
            for change in page["changes"]:
                if change.get("deleted"):
                    self.entries.pop(change["id"], None)
                else:
                    self.entries[change["id"]] = change
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return

    def blocked(self, number) -> bool:
        now = timezone.now().isoformat()
        return any(
            e["phone_normalized"] == number and (e["expires_at"] is None or e["expires_at"] > now)
            for e in self.entries.values()
        )


def test_an_offline_phone_agrees_with_the_check_after_every_kind_of_change(
    manager_client, agent_client
):
    numbers = [f"+1202555{n:04d}" for n in range(100, 106)]
    company, state = _list(manager_client), _list(manager_client, "State", type="state")
    phone = OfflinePhone(agent_client)

    def agree():
        phone.sync()
        for number in numbers:
            assert phone.blocked(number) == _check(agent_client, number)["blocked"], number

    ids = [_add(manager_client, company, n).json()["id"] for n in numbers[:4]]
    _add(manager_client, state, numbers[3])
    soon = _add(
        manager_client,
        state,
        numbers[4],
        expires_at=(timezone.now() + timedelta(hours=1)).isoformat(),
    )
    agree()
    manager_client.delete(f"{ENTRIES}/{ids[0]}")  # removed
    agree()
    # Time passes: the entry's expiry is now behind us, and nobody writes anything.
    DncEntry.objects.filter(pk=soon.json()["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    agree()
    assert soon.json()["id"] not in phone.entries  # a tombstone came through the feed
    manager_client.patch(f"{LISTS}/{company['id']}", {"active": False}, format="json")
    agree()
    assert phone.blocked(numbers[3])  # still on the state list
    manager_client.patch(f"{LISTS}/{company['id']}", {"active": True}, format="json")
    agree()
    manager_client.delete(f"{LISTS}/{state['id']}")
    agree()
    # A fresh install gets exactly what is blocked now, no tombstones.
    fresh = agent_client.get(FEED).json()
    assert all(not c.get("deleted") for c in fresh["changes"])
    assert {c["phone_normalized"] for c in fresh["changes"]} == set(numbers[1:4])


def test_contacts_and_calls_show_dnc_and_filter_by_it(manager_client, agent_client, agent):
    blocked, free = (
        make_contact(actor=agent, name="Blocked"),
        make_contact(actor=agent, name="Free"),
    )
    dnc_list = _list(manager_client)
    yesterday = timezone.now() - timedelta(days=1)
    earlier = make_call(
        user=agent, phone=blocked.phone_normalized, started_at=yesterday.isoformat()
    )
    _add(manager_client, dnc_list, blocked.phone_normalized)
    later = make_call(
        user=agent, phone=blocked.phone_normalized, started_at=timezone.now().isoformat()
    )
    page = agent_client.get("/api/v1/contacts").json()["results"]
    assert {c["name"]: c["dnc"] for c in page} == {"Blocked": True, "Free": False}
    assert agent_client.get(f"/api/v1/contacts/{blocked.id}").json()["dnc"] is True
    only = agent_client.get("/api/v1/contacts", {"dnc": "true"}).json()["results"]
    assert [c["name"] for c in only] == ["Blocked"]
    assert agent_client.get("/api/v1/contacts/stats").json()["dnc"] == 1
    calls = {c["id"]: c["dnc"] for c in agent_client.get("/api/v1/calls").json()["results"]}
    assert calls == {str(earlier.id): False, str(later.id): True}  # blocked when it started
    assert agent_client.get(f"/api/v1/calls/{later.id}").json()["dnc"] is True
    # One contact's calls (its own compiled statement, calls.selectors.ContactCalls) too.
    of_blocked = agent_client.get("/api/v1/calls", {"contact": str(blocked.id)}).json()
    assert {c["id"]: c["dnc"] for c in of_blocked["results"]} == calls
    assert Contact.objects.get(pk=free.pk).version == free.version  # computed, never versioned


def test_scrub_counts_and_keeps_the_clean_contacts(manager_client, manager, agent, agent_client):
    contacts = [make_contact(actor=agent) for _ in range(5)]
    campaign = list_create(actor=manager, name="Campaign")
    list_members_add(actor=manager, contact_list=campaign, contact_ids=[c.pk for c in contacts])
    dnc_list = _list(manager_client)
    for contact in contacts[:2]:
        _add(manager_client, dnc_list, contact.phone_normalized)
    body = {"lists": [str(campaign.pk)]}
    counted = agent_client.post("/api/v1/dnc/scrub", body, format="json").json()
    assert counted == {"total": 5, "blocked": 2, "clean": 3, "clean_list": None}
    assert_error(
        agent_client.post("/api/v1/dnc/scrub", {**body, "clean_list_name": "x"}, format="json"),
        403,
    )
    kept = manager_client.post(
        "/api/v1/dnc/scrub", {**body, "clean_list_name": "Campaign (clean)"}, format="json"
    ).json()
    assert kept["clean"] == 3
    members = agent_client.get(f"/api/v1/lists/{kept['clean_list']}/contacts").json()
    assert {c["id"] for c in members["results"]} == {str(c.id) for c in contacts[2:]}
    other = _list(manager_client, "Empty")
    scoped = agent_client.post(
        "/api/v1/dnc/scrub", {**body, "dnc_lists": [other["id"]]}, format="json"
    ).json()
    assert scoped["blocked"] == 0


def test_entries_filter_by_list_and_by_a_number_in_any_format(manager_client, agent_client):
    company, state = _list(manager_client), _list(manager_client, "State", type="state")
    _add(manager_client, company, "+12025550100")
    _add(manager_client, state, "+12025550100")
    _add(manager_client, state, "+12025550101")
    by_number = agent_client.get(ENTRIES, {"phone": "(202) 555-0100"}).json()
    assert by_number["count"] == 2
    assert agent_client.get(ENTRIES, {"list": state["id"]}).json()["count"] == 2
    # Not a number: nothing matches (and the paginator's estimate copes with an empty query).
    assert agent_client.get(ENTRIES, {"phone": "not a number"}).json()["count"] == 0


def test_a_number_whose_entry_expired_is_added_again(manager_client, agent_client):
    dnc_list = _list(manager_client)
    soon = (timezone.now() + timedelta(hours=1)).isoformat()
    first = _add(manager_client, dnc_list, "+12025550100", expires_at=soon).json()
    DncEntry.objects.filter(pk=first["id"]).update(expires_at=timezone.now() - timedelta(1))
    again = _add(manager_client, dnc_list, "+12025550100", reason="asked again")
    assert again.status_code == 201
    assert again.json()["id"] != first["id"] and again.json()["active"] is True
    assert _check(agent_client, "+12025550100")["blocked"] is True
    assert DncEntry.objects.get(pk=first["id"]).deleted_at is not None  # a tombstone


def test_the_page_query_of_blocked_numbers_agrees_with_the_rule(manager_client):
    from dnc.selectors import dnc_blocked_numbers, dnc_blocked_numbers_orm

    live, expired, removed, inactive, deleted = (f"+1202555010{n}" for n in range(5))
    active_list, off_list, gone_list = (_list(manager_client, name=n) for n in "ABC")
    for number in (live, expired, removed):
        _add(manager_client, active_list, number)
    _add(manager_client, off_list, inactive)
    _add(manager_client, gone_list, deleted)
    DncEntry.objects.filter(phone_normalized=expired).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    entry = DncEntry.objects.get(phone_normalized=removed)
    manager_client.delete(f"{ENTRIES}/{entry.pk}")
    manager_client.patch(f"{LISTS}/{off_list['id']}", {"active": False}, format="json")
    manager_client.delete(f"{LISTS}/{gone_list['id']}")
    numbers = {live, expired, removed, inactive, deleted, "+12025550199"}
    now = timezone.now()
    assert dnc_blocked_numbers(numbers, now=now) == dnc_blocked_numbers_orm(numbers, now=now)
    assert dnc_blocked_numbers(numbers, now=now) == {live}
