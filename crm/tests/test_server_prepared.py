"""crm.db.server_prepared: statements bound on the server and prepared once per connection,
counted and logged like Django's own; unprepared inside a transaction or behind a pooler."""

import uuid

import pytest
from django.db import connection, transaction

from crm.db import server_prepared as prepared

pytestmark = pytest.mark.django_db(transaction=True)

SQL = "SELECT %s::int + 1, %s::text, cardinality(%s::uuid[])"


def _forget():
    prepared._enabled = True
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # psycopg sees it go by and forgets its statements too


@pytest.fixture(autouse=True)
def _fresh():
    _forget()
    yield
    _forget()


def _run(a: int, b: str, ids=()):
    with prepared.cursor() as cursor:
        cursor.execute(SQL, [a, b, list(ids)])
        return cursor.fetchall()


def _statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
            ["SELECT $1::int + 1%"],
        )
        return [row[0] for row in cursor.fetchall()]


def test_the_first_run_prepares_and_the_next_ones_execute_it(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert _run(1, "a", [uuid.uuid4()]) == [(2, "a", 1)]
    assert _statements() == ["SELECT $1::int + 1, $2::text, cardinality($3::uuid[])"]
    with django_assert_num_queries(1) as captured:
        assert _run(41, "it's", [uuid.uuid4(), uuid.uuid4()]) == [(42, "it's", 2)]
    # Logged with its values written in, as Django logs its own statements.
    assert captured.captured_queries[0]["sql"].startswith("SELECT 41::int + 1, 'it''s'::text")
    assert len(_statements()) == 1  # the same statement, executed by name


def test_a_statement_the_server_forgot_runs_unprepared_from_then_on():
    assert _run(1, "a") == [(2, "a", 0)]
    # What a pooler's other server connection looks like: the server does not know the
    # statement psycopg prepared (sent through libpq itself, psycopg does not see it go by).
    connection.connection.pgconn.exec_(b"DEALLOCATE ALL")
    assert _run(2, "b") == [(3, "b", 0)]
    assert prepared._enabled is False
    assert _run(3, "c") == [(4, "c", 0)]
    assert _statements() == []


def test_inside_a_transaction_nothing_is_prepared():
    with transaction.atomic():
        assert _run(1, "a") == [(2, "a", 0)]
        assert _run(2, "b") == [(3, "b", 0)]
    assert _statements() == []
    assert prepared._enabled is True


def test_django_cursors_still_bind_on_the_client_and_prepare_nothing():
    _run(1, "a")
    for _ in range(10):
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::int * 2", [21])
            assert cursor.fetchone() == (42,)
    assert _statements() == ["SELECT $1::int + 1, $2::text, cardinality($3::uuid[])"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (1,)
