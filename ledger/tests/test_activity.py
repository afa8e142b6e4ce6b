import pytest

from ledger.activity import ActivityEntry, activity_record, activity_record_bulk
from ledger.models import Activity

pytestmark = pytest.mark.django_db


def test_bulk_entries_share_actor_action_and_time(agent):
    activity_record_bulk(
        actor=agent,
        action="contacts.contact.created",
        entries=[
            ActivityEntry("contact", str(n), f"Person {n}", {"name": [None, f"P{n}"]})
            for n in range(3)
        ],
    )
    rows = list(Activity.objects.order_by("object_id"))
    assert [(r.object_id, r.object_repr, r.changes) for r in rows] == [
        (str(n), f"Person {n}", {"name": [None, f"P{n}"]}) for n in range(3)
    ]
    assert {(r.actor_id, r.action, r.created_at) for r in rows} == {
        (agent.pk, "contacts.contact.created", rows[0].created_at)
    }


def test_sync_bookkeeping_is_left_out_and_long_names_cut(agent):
    noisy = {"name": ["a", "b"], "version": [1, 2], "updated_at": ["x", "y"], "name_search": [1]}
    activity_record_bulk(
        actor=None, action="x.y", entries=[ActivityEntry("contact", "1", "n" * 500, noisy)]
    )
    row = Activity.objects.get()
    assert row.changes == {"name": ["a", "b"]}
    assert len(row.object_repr) == 200
    assert row.actor is None
    single = activity_record(actor=agent, action="x.z", obj=agent, changes=noisy)
    assert single.changes == {"name": ["a", "b"]}
    assert (single.object_type, single.object_id) == ("user", str(agent.pk))


def test_no_entries_write_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        activity_record_bulk(actor=None, action="x.y", entries=[])
