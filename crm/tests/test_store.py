from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.db import connection

from crm.db.store import Staging, copy_records, copy_rows
from ledger.models import Activity

FIELDS = ("actor_id", "object_type", "object_id", "object_repr", "changes")


@pytest.mark.django_db
def test_copy_records_writes_rows_as_given(admin_user):
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    records = [
        SimpleNamespace(
            actor_id=admin_user.pk,
            object_type="contact",
            object_id=str(i),
            object_repr=f"Name\t{i} \\ é",
            changes={"n": i},
        )
        for i in range(3)
    ]
    records.append(
        SimpleNamespace(actor_id=None, object_type="", object_id="", object_repr="", changes={})
    )
    copy_records(
        Activity, records, fields=FIELDS, constants={"action": "x.y.z", "created_at": when}
    )
    stored = list(Activity.objects.filter(action="x.y.z").order_by("object_id"))
    assert [(a.object_id, a.object_repr, a.changes, a.created_at) for a in stored] == [
        ("", "", {}, when),
        *[(str(i), f"Name\t{i} \\ é", {"n": i}, when) for i in range(3)],
    ]
    assert stored[0].actor_id is None
    assert {a.actor_id for a in stored[1:]} == {admin_user.pk}


@pytest.mark.django_db
def test_copy_records_of_nothing_sends_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        copy_records(Activity, [], fields=FIELDS)
    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_copy_rows_fills_any_table_including_temporary_ones():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bulk_probe (n integer, t text, w timestamptz)")
        when = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
        copy_rows("bulk_probe", ["n", "t", "w"], [(1, "a\tb\\c\nd", when), (2, None, None)])
        cursor.execute("SELECT n, t, w FROM bulk_probe ORDER BY n")
        assert cursor.fetchall() == [(1, "a\tb\\c\nd", when), (2, None, None)]


@pytest.mark.django_db
def test_staging_inserts_the_new_rows_and_returns_their_keys(admin_user):
    from ledger.models import ChangeFeed

    stage = Staging(ChangeFeed, ["name", "version"])
    sql = stage.insert_new_sql(computed={"epoch": "%s", "purged_through": "0"})
    ChangeFeed.objects.create(name="taken", version=7, epoch=1)
    stage.load([SimpleNamespace(name="taken", version=1), SimpleNamespace(name="new", version=2)])
    with connection.cursor() as cursor:
        cursor.execute(sql, [5])
        assert cursor.fetchall() == [("new",)]  # the conflicting row was skipped
        cursor.execute(f"SELECT count(*) FROM {stage.table}")  # noqa: S608 - the test's table
        assert cursor.fetchone() == (0,)  # taken as it was read
    assert set(ChangeFeed.objects.values_list("name", "version", "epoch")) >= {
        ("taken", 7, 1),
        ("new", 2, 5),
    }
