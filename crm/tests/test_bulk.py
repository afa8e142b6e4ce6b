from datetime import UTC, datetime

import pytest

from crm.bulk import bulk_copy
from syncaudit.models import Activity


@pytest.mark.django_db
def test_bulk_copy_writes_rows_as_given(admin_user):
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    rows = [
        (admin_user.pk, "x.y.z", "contact", str(i), f"Name\t{i} \\ é", {"n": i}, when)
        for i in range(3)
    ]
    rows.append((None, "x.y.z", "", "", "", {}, when))
    bulk_copy(
        Activity,
        ["actor_id", "action", "object_type", "object_id", "object_repr", "changes", "created_at"],
        rows,
    )
    stored = list(Activity.objects.filter(action="x.y.z").order_by("object_id"))
    assert [(a.object_id, a.object_repr, a.changes, a.created_at) for a in stored] == [
        ("", "", {}, when),
        *[(str(i), f"Name\t{i} \\ é", {"n": i}, when) for i in range(3)],
    ]
    assert stored[0].actor_id is None
    assert {a.actor_id for a in stored[1:]} == {admin_user.pk}


@pytest.mark.django_db
def test_bulk_copy_of_nothing_writes_nothing():
    bulk_copy(Activity, ["action"], [])
    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_copy_rows_fills_any_table_including_temporary_ones():
    from django.db import connection

    from crm.bulk import copy_rows

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bulk_probe (n integer, t text, w timestamptz)")
        when = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
        copy_rows("bulk_probe", ["n", "t", "w"], [(1, "a\tb\\c\nd", when), (2, None, None)])
        cursor.execute("SELECT n, t, w FROM bulk_probe ORDER BY n")
        assert cursor.fetchall() == [(1, "a\tb\\c\nd", when), (2, None, None)]
