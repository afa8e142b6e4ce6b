import threading
import time
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from accounts.tests.factories import UserFactory
from calls.tests.factories import make_call
from contacts.models import Contact
from contacts.services import contact_delete, contact_update
from contacts.tests.factories import make_contact
from crm.tests.helpers import assert_error
from ledger.models import ChangeFeed

pytestmark = pytest.mark.django_db

FEED = "/api/v1/sync/contacts"


def pull_all(client, cursor=None, limit=500, url=FEED):
    """Follow cursors to the end; return (changes, final cursor, number of requests)."""
    changes, requests = [], 0
    while True:
        params = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = client.get(url, params)
        assert response.status_code == HTTPStatus.OK, response.json()
        body = response.json()
        requests += 1
        assert set(body) == {"changes", "cursor", "has_more"}
        changes.extend(body["changes"])
        cursor = body["cursor"]
        if not body["has_more"]:
            return changes, cursor, requests


def test_initial_sync_pages_through_live_contacts_only(agent_client, agent):
    contacts = [make_contact(actor=agent, name=f"C{n}") for n in range(7)]
    contact_delete(actor=agent, contact=contacts[0])
    changes, cursor, requests = pull_all(agent_client, limit=3)
    assert requests == 2
    assert sorted(c["id"] for c in changes) == sorted(str(c.id) for c in contacts[1:])
    assert all("deleted" not in c for c in changes)
    versions = [c["version"] for c in changes]
    assert versions == sorted(versions)
    # Nothing new: the cursor answers an empty page.
    again = agent_client.get(FEED, {"cursor": cursor}).json()
    assert again["changes"] == [] and again["has_more"] is False


def test_delta_returns_edits_and_tombstones_once_in_version_order(agent_client, agent):
    a, b, c = (make_contact(actor=agent, name=n) for n in "ABC")
    _, cursor, _ = pull_all(agent_client)
    contact_update(actor=agent, contact=b, name="B2")
    contact_delete(actor=agent, contact=a)
    d = make_contact(actor=agent, name="D")
    changes, cursor2, _ = pull_all(agent_client, cursor=cursor)
    assert [ch["id"] for ch in changes] == [str(b.id), str(a.id), str(d.id)]
    assert changes[0]["name"] == "B2"
    a.refresh_from_db()
    assert changes[1] == {"id": str(a.id), "deleted": True, "version": a.version}
    assert pull_all(agent_client, cursor=cursor2)[0] == []
    del c


def test_a_page_can_end_inside_one_version(agent_client, agent):
    # An import stamps every row of one transaction with the same version.
    from contacts.services import ContactInput, contacts_upsert

    contacts_upsert(
        actor=agent,
        items=[ContactInput(name=f"N{n}", phone=f"+120223456{n:02d}") for n in range(10)],
    )
    changes, _, requests = pull_all(agent_client, limit=4)
    assert requests == 3
    assert len({c["id"] for c in changes}) == 10


@pytest.mark.parametrize("cursor", ["garbage", "eyJmIjoiY29udGFjdHMifQ:tampered:sig", "a" * 300])
def test_a_malformed_or_tampered_cursor_is_400(agent_client, cursor):
    assert_error(agent_client.get(FEED, {"cursor": cursor}), 400, "invalid_cursor")


def test_a_calls_cursor_is_not_a_contacts_cursor(agent_client, agent):
    make_call(user=agent)
    _, calls_cursor, _ = pull_all(agent_client, url="/api/v1/sync/calls")
    assert_error(agent_client.get(FEED, {"cursor": calls_cursor}), 400, "invalid_cursor")


def test_resetting_the_epoch_expires_every_cursor(agent_client, agent):
    make_contact(actor=agent)
    _, cursor, _ = pull_all(agent_client)
    call_command("reset_sync_cursors", verbosity=0)
    assert_error(agent_client.get(FEED, {"cursor": cursor}), 410, "cursor_expired")
    changes, fresh, _ = pull_all(agent_client)
    assert len(changes) == 1
    assert agent_client.get(FEED, {"cursor": fresh}).status_code == 200


def test_purging_tombstones_expires_older_cursors_only(agent_client, agent):
    old, kept = make_contact(actor=agent), make_contact(actor=agent)
    _, stale_cursor, _ = pull_all(agent_client)
    contact_delete(actor=agent, contact=old)
    Contact.objects.filter(pk=old.pk).update(
        deleted_at=timezone.now() - timezone.timedelta(days=91)
    )
    _, fresh_cursor, _ = pull_all(agent_client, cursor=stale_cursor)
    call_command("purge_tombstones", verbosity=0)
    assert not Contact.objects.filter(pk=old.pk).exists()
    assert ChangeFeed.objects.get(name="contacts").purged_through > 0
    assert_error(agent_client.get(FEED, {"cursor": stale_cursor}), 410, "cursor_expired")
    assert agent_client.get(FEED, {"cursor": fresh_cursor}).status_code == 200
    changes, _, _ = pull_all(agent_client)
    assert [c["id"] for c in changes] == [str(kept.id)]


def test_recent_tombstones_survive_a_purge(agent, agent_client):
    contact = make_contact(actor=agent)
    contact_delete(actor=agent, contact=contact)
    call_command("purge_tombstones", verbosity=0)
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_limit_is_validated_and_capped(agent_client, agent):
    make_contact(actor=agent)
    assert_error(agent_client.get(FEED, {"limit": 0}), 400, "validation_error")
    assert_error(agent_client.get(FEED, {"limit": "many"}), 400, "validation_error")
    assert agent_client.get(FEED, {"limit": 99999}).status_code == 200


def test_the_calls_feed_has_every_users_calls(agent_client, agent, other_agent):
    make_call(user=agent)
    make_call(user=other_agent)
    changes, cursor, _ = pull_all(agent_client, url="/api/v1/sync/calls")
    assert {c["user"] for c in changes} == {str(agent.id), str(other_agent.id)}
    contact = make_contact(phone=changes[0]["phone"])
    # Linking a call to a new contact is a change of the call.
    relinked, _, _ = pull_all(agent_client, cursor=cursor, url="/api/v1/sync/calls")
    assert {c["contact"] for c in relinked} == {str(contact.id)}


def test_feed_reads_take_constant_queries(agent_client, agent, django_assert_num_queries):
    for _ in range(3):
        make_contact(actor=agent)
    # 1. user  2. feed state (epoch, purge mark, high-water)  3. the page
    with django_assert_num_queries(3):
        agent_client.get(FEED)
    for _ in range(20):
        make_contact(actor=agent)
    with django_assert_num_queries(3):
        assert len(agent_client.get(FEED).json()["changes"]) == 23


@pytest.mark.django_db(transaction=True)
def test_a_cursor_follower_never_misses_a_change_committed_late(client_for):
    """Writers commit out of order on purpose; a reader following cursors must still see
    every change exactly once."""
    writer = UserFactory()
    reader = client_for(UserFactory())
    contacts = [make_contact(actor=writer, name=f"seed{n}") for n in range(4)]
    _, cursor, _ = pull_all(reader)

    stop = threading.Event()
    seen: list[tuple[str, int]] = []
    errors: list[Exception] = []

    def slow_writer(contact, delay):
        try:
            from django.db import transaction

            with transaction.atomic():
                contact_update(actor=writer, contact=contact, name=f"{contact.name}-slow")
                time.sleep(delay)  # holds its version uncommitted while others try to write
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def fast_writer(contact):
        try:
            for n in range(5):
                contact_update(actor=writer, contact=contact, name=f"{contact.name}-{n}")
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def follower():
        nonlocal cursor
        try:
            while not stop.is_set():
                changes, cursor, _ = pull_all(reader, cursor=cursor, limit=2)
                seen.extend((c["id"], c["version"]) for c in changes)
                time.sleep(0.01)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    reader_thread = threading.Thread(target=follower)
    reader_thread.start()
    writers = [
        threading.Thread(target=slow_writer, args=(contacts[0], 0.3)),
        threading.Thread(target=fast_writer, args=(contacts[1],)),
        threading.Thread(target=slow_writer, args=(contacts[2], 0.1)),
        threading.Thread(target=fast_writer, args=(contacts[3],)),
    ]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=60)
    time.sleep(0.2)
    stop.set()
    reader_thread.join(timeout=60)
    changes, _, _ = pull_all(reader, cursor=cursor)
    seen.extend((c["id"], c["version"]) for c in changes)

    assert errors == []
    assert len(seen) == len(set(seen)), "a change was delivered twice"
    versions = [v for _, v in seen]
    assert versions == sorted(versions), "changes out of version order"
    final = {str(c.id): c.version for c in Contact.objects.all()}
    latest_seen = {}
    for contact_id, version in seen:
        latest_seen[contact_id] = version
    assert latest_seen == final, "the follower missed the last change of some contact"
    # The slow writers' changes (committed last, with the lowest new versions) arrived.
    assert latest_seen[str(contacts[0].id)] == final[str(contacts[0].id)]
    assert latest_seen[str(contacts[2].id)] == final[str(contacts[2].id)]
