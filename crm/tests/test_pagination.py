"""How list pages are counted: one query for small or ranked results, a COUNT for mid-sized
ones, the planner's estimate for huge ones; estimates reused for a few seconds."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.tests.factories import make_contact
from crm.http import pagination
from crm.tests.helpers import assert_error

CONTACTS = "/api/v1/contacts"


def _get(client, path, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200, response.content
    sql = [q["sql"] for q in queries.captured_queries]
    return response.json(), sql


def _counts(sql: list[str]) -> list[str]:
    return [s for s in sql if s.startswith("SELECT COUNT(*)")]


@pytest.fixture
def seven(db):
    return [make_contact(name=f"Name {n}") for n in range(7)]


@pytest.mark.parametrize("window_rows", [1000, 0])
def test_every_page_has_the_exact_count_either_way(agent_client, seven, monkeypatch, window_rows):
    monkeypatch.setattr(pagination, "WINDOW_COUNT_ROWS", window_rows)
    pages = [_get(agent_client, CONTACTS, {"limit": 3, "page": n}) for n in (1, 2, 3)]
    assert [body["count"] for body, _ in pages] == [7, 7, 7]
    names = [c["name"] for body, _ in pages for c in body["results"]]
    assert names == [f"Name {n}" for n in range(7)]
    for number, (_, sql) in enumerate(pages):
        windowed = [s for s in sql if "COUNT(*) OVER ()" in s]
        if window_rows:
            assert len(windowed) == 1 and not _counts(sql)  # the page carries its total
        else:  # a COUNT, then the page; the next pages reuse it (no contact written since)
            assert not windowed and len(_counts(sql)) == (1 if number == 0 else 0)
    assert_error(agent_client.get(CONTACTS, {"limit": 3, "page": 4}), 404)
    assert_error(agent_client.get(CONTACTS, {"limit": 3, "page": "x"}), 404)
    assert_error(agent_client.get(CONTACTS, {"limit": 3, "page": 0}), 404)


def test_an_empty_list_has_one_empty_page(agent_client, db):
    body, _ = _get(agent_client, CONTACTS, {})
    assert body == {"count": 0, "next": None, "previous": None, "results": []}
    assert_error(agent_client.get(CONTACTS, {"page": 2}), 404)


def test_ranked_search_results_are_counted_by_the_page_query(agent_client, db, monkeypatch):
    # Search ranks every match from the word index, so it reads them all anyway: the total
    # comes with the page (count(*) over the ranked matches) instead of a second scan.
    monkeypatch.setattr(pagination, "WINDOW_COUNT_ROWS", 0)
    for name in ("Maria Garcia", "Mario Garcia", "Garcia Lopez", "Anna Schmidt"):
        make_contact(name=name)
    body, sql = _get(agent_client, CONTACTS, {"search": "garcia", "limit": 2})
    assert body["count"] == 3 and len(body["results"]) == 2
    assert not _counts(sql)
    body, _ = _get(agent_client, CONTACTS, {"search": "garcia", "limit": 2, "page": 2})
    assert body["count"] == 3 and len(body["results"]) == 1


def test_estimates_are_reused_for_a_few_seconds_then_asked_again(agent_client, seven, settings):
    explains = lambda sql: [s for s in sql if s.startswith("EXPLAIN")]  # noqa: E731
    assert len(explains(_get(agent_client, CONTACTS, {})[1])) == 1
    assert not explains(_get(agent_client, CONTACTS, {})[1])
    assert not explains(_get(agent_client, CONTACTS, {"limit": 3, "page": 2})[1])  # same rows
    # Another query (a filter) has its own estimate.
    assert len(explains(_get(agent_client, CONTACTS, {"tag": "vip"})[1])) == 1
    pagination.estimates.clear()
    settings.COUNT_ESTIMATE_SECONDS = 0
    for _ in range(2):
        assert len(explains(_get(agent_client, CONTACTS, {})[1])) == 1


def test_a_huge_list_is_counted_by_its_estimate_but_never_cut_to_it(agent_client, seven, settings):
    body, _ = _get(agent_client, CONTACTS, {"limit": 2})
    assert body["count"] == 7
    # The reused estimate (a few rows: the table was never analysed) is now above the limit.
    settings.EXACT_COUNT_LIMIT = 0
    names, url, counts = [], CONTACTS + "?limit=2", []
    while url:
        response = agent_client.get(url)
        body = response.json()
        names += [c["name"] for c in body["results"]]
        counts.append((body["count"], response.get("X-Count-Estimated")))
        url = body["next"]
    # Every row is reachable whatever the estimate said; the count never claims fewer rows
    # than a page has shown, and the last page knows the total exactly.
    assert names == [f"Name {n}" for n in range(7)]
    for page, (count, flag) in enumerate(counts[:-1], start=1):
        assert flag == "true" and count >= page * 2 + 1
    assert counts[-1] == (7, None)
    assert_error(agent_client.get(CONTACTS, {"limit": 2, "page": 5}), 404)


def test_unknown_query_parameters_change_nothing(agent_client, seven):
    plain, _ = _get(agent_client, CONTACTS, {})
    odd, _ = _get(agent_client, CONTACTS, {"sort": "x", "utm_source": "mail"})
    assert odd == plain


def test_each_user_has_their_own_estimates(agent_client, manager_client, seven):
    explains = lambda sql: [s for s in sql if s.startswith("EXPLAIN")]  # noqa: E731
    for client in (agent_client, manager_client):
        assert len(explains(_get(client, CONTACTS, {})[1])) == 1
        assert not explains(_get(client, CONTACTS, {})[1])


def test_a_mid_sized_count_is_reused_until_a_contact_write(agent_client, seven, monkeypatch):
    # Above the window size, a page is counted by a COUNT: once per version of the contacts.
    monkeypatch.setattr(pagination, "WINDOW_COUNT_ROWS", 0)
    body, sql = _get(agent_client, CONTACTS, {"limit": 3})
    assert body["count"] == 7 and len(_counts(sql)) == 1
    body, sql = _get(agent_client, CONTACTS, {"limit": 3, "page": 2})
    assert body["count"] == 7 and not _counts(sql)  # the same version: the same count
    make_contact(name="Name 7")
    body, sql = _get(agent_client, CONTACTS, {"limit": 3})
    assert body["count"] == 8 and len(_counts(sql)) == 1
    # A filter that moves with the calls feed is counted every time.
    for _ in range(2):
        body, sql = _get(agent_client, CONTACTS, {"limit": 3, "has_calls": "false"})
        assert body["count"] == 8 and len(_counts(sql)) == 1
