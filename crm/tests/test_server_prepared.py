"""crm.db.server_prepared: a statement prepared once per connection, and the plain statement
when the server does not know it (a pooler) or inside a transaction."""

import pytest
from django.db import connection, transaction

from crm.db import server_prepared as prepared

pytestmark = pytest.mark.django_db(transaction=True)

SQL = "SELECT %s::int + 1, %s::text"


def _forget():
    prepared._enabled = True
    prepared._prepared.clear()
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")


@pytest.fixture(autouse=True)
def _fresh():
    _forget()
    yield
    _forget()


def _run(a: int, b: str):
    with connection.cursor() as cursor:
        prepared.execute(cursor, "crm_test_add", "int, text", SQL, [a, b])
        return cursor.fetchall()


def _statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name = 'crm_test_add'")
        return [row[0] for row in cursor.fetchall()]


def test_the_first_call_prepares_and_the_next_ones_execute(django_assert_num_queries):
    with django_assert_num_queries(1):  # PREPARE and EXECUTE in one round trip
        assert _run(1, "a") == [(2, "a")]
    assert _statements() == ["crm_test_add"]
    with django_assert_num_queries(1):
        assert _run(41, "it's") == [(42, "it's")]


def test_a_statement_the_server_forgot_falls_back_to_the_plain_one():
    assert _run(1, "a") == [(2, "a")]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pooler's other server connection looks like
    assert _run(2, "b") == [(3, "b")]
    assert prepared._enabled is False
    assert _run(3, "c") == [(4, "c")]


def test_inside_a_transaction_the_plain_statement_runs():
    with transaction.atomic():
        assert _run(1, "a") == [(2, "a")]
    assert _statements() == []


def test_a_statement_the_server_already_has_falls_back_to_the_plain_one():
    with connection.cursor() as cursor:
        cursor.execute("PREPARE crm_test_add(int, text) AS SELECT $1 + 1, $2")
    assert _run(5, "e") == [(6, "e")]
    assert prepared._enabled is False
