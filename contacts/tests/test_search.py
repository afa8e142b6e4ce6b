"""Search as the contract says it (word prefixes, numbers anywhere, typos only as a fallback),
its ranking, its count, and the word index every contact writer keeps."""

import pytest
from django.db import connection

from contacts.models import Contact, ContactWord, SearchWord
from contacts.revert import Touched, contacts_import_revert
from contacts.search import search_terms
from contacts.services import (
    ContactInput,
    contact_delete,
    contact_restore,
    contact_update,
    contacts_upsert,
)
from contacts.tests.factories import make_contact, next_phone
from contacts.text import search_words
from crm.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts"
SEARCH = "/api/v1/contacts/search"


def names(client, query, **params):
    """The names a search answers, through both spellings of the endpoint (they agree)."""
    body = client.get(CONTACTS, {"search": query, **params}).json()
    same = client.get(SEARCH, {"q": query, **params}).json()
    assert body == same, query
    return [c["name"] for c in body["results"]]


def assert_index_in_step():
    """The word index says exactly what the live rows say (contacts.text.search_words)."""
    expected = {
        (pk, word, name)
        for pk, name, details in Contact.live.values_list("pk", "name_search", "details_search")
        for word in search_words(name, details)
    }
    stored = set(ContactWord.objects.values_list("contact_id", "word", "name_search"))
    assert stored == expected
    vocabulary = set(SearchWord.objects.values_list("word", flat=True))
    assert {word for _, word, _ in expected} <= vocabulary


@pytest.fixture
def book(agent):
    for name in ("Margot Dupont", "María González", "Marc Stone", "Omar Khan", "Bob Marley"):
        make_contact(actor=agent, name=name)


def test_a_word_matches_the_start_of_a_word_only(agent_client, book):
    assert names(agent_client, "mar") == ["Bob Marley", "Marc Stone", "Margot Dupont",
                                          "María González"]  # fmt: skip
    assert "Omar Khan" not in names(agent_client, "mar")  # "mar" inside "omar": no
    assert names(agent_client, "arg") == []  # inside "margot": no


def test_every_word_must_match(agent_client, book):
    assert names(agent_client, "mar gon") == ["María González"]
    assert names(agent_client, "GON mar") == ["María González"]  # any order, any case
    assert names(agent_client, "maria gonzalez") == ["María González"]  # accents ignored
    assert names(agent_client, "mar xyz") == []


def test_exact_words_come_first_then_by_name(agent_client, agent):
    for name in ("Marco Polo", "Mar Bosch", "Ana Mar", "Marc Stone"):
        make_contact(actor=agent, name=name)
    assert names(agent_client, "mar") == ["Ana Mar", "Mar Bosch", "Marc Stone", "Marco Polo"]
    # A page of 2 is full: no typo fallback (below, "mar" is similar to "marc").
    assert names(agent_client, "marc", limit=2) == ["Marc Stone", "Marco Polo"]
    assert names(agent_client, "marc") == ["Marc Stone", "Marco Polo", "Ana Mar", "Mar Bosch"]


def test_email_and_company_words(agent_client):
    people = [
        ("Ada", {"email": "ada.king@analytical-engines.example", "company": "Société Générale"}),
        ("Bob", {"email": "bob_stone+crm@acme.io", "company": "ACME S.A."}),
        ("Cy", {"company": "ACME S.A."}),
        ("Dee", {"company": "Nacme"}),
    ]
    for name, extra in people:
        response = agent_client.post(
            CONTACTS, {"name": name, "phone": next_phone(), **extra}, format="json"
        )
        assert response.status_code == 201, response.content
    assert names(agent_client, "acme", limit=2) == ["Bob", "Cy"]  # not "Nacme"
    # Fewer than a page: a similar word ("nacme") follows as a typo, after the prefix hits.
    assert names(agent_client, "acme") == ["Bob", "Cy", "Dee"]
    for word in ("king", "analy", "engines", "stone", "crm", "io"):  # split at @ . - _ +
        assert names(agent_client, word) == (["Ada"] if word in ("king", "analy", "engines")
                                             else ["Bob"]), word  # fmt: skip
    assert names(agent_client, "genera soc") == ["Ada"]
    assert names(agent_client, "ada acme") == []  # every word: Ada is not at ACME


def test_digits_match_anywhere_in_the_number(agent_client, agent):
    make_contact(actor=agent, name="Alice", phone="+12025550143")
    make_contact(actor=agent, name="Bob", phone="+4915123456789")
    assert names(agent_client, "5550") == ["Alice"]  # in the middle
    assert names(agent_client, "(202) 555-0143") == ["Alice"]
    assert names(agent_client, "+49 151") == ["Bob"]
    assert names(agent_client, "alice 0143") == ["Alice"]
    assert names(agent_client, "bob 0143") == []
    assert names(agent_client, "55") == []  # fewer than 3 digits: a word like any other


def test_typos_are_a_fallback_below_a_page(agent_client, agent):
    make_contact(actor=agent, name="John Smith")
    make_contact(actor=agent, name="Jonhatan Lee")  # "jonh" is the start of his name
    # One prefix hit, fewer than a page: similar words follow, after every prefix hit.
    assert names(agent_client, "jonh") == ["Jonhatan Lee", "John Smith"]
    # A page of 1 is full with the prefix hit: no typo matches.
    body = agent_client.get(CONTACTS, {"search": "jonh", "limit": 1}).json()
    assert body["count"] == 1 and [c["name"] for c in body["results"]] == ["Jonhatan Lee"]
    assert names(agent_client, "smiht") == ["John Smith"]
    assert names(agent_client, "smiht joh") == ["John Smith"]


def test_only_words_of_four_letters_or_more_match_by_similarity(agent_client, agent):
    make_contact(actor=agent, name="John Smith")
    assert names(agent_client, "smt") == []
    assert names(agent_client, "smth") == ["John Smith"]
    assert [t.typo for t in search_terms("jhn jhon 1234 o'bri")] == [False, True, False, True]


def test_the_count_is_exact_up_to_the_limit_then_flagged_as_an_estimate(
    agent_client, agent, settings
):
    for n in range(3):
        make_contact(actor=agent, name=f"Marc {n}")
    settings.SEARCH_EXACT_COUNT_LIMIT = 3
    response = agent_client.get(CONTACTS, {"search": "marc", "limit": 2})
    assert response.json()["count"] == 3 and "X-Count-Estimated" not in response
    make_contact(actor=agent, name="Marc 4")
    response = agent_client.get(CONTACTS, {"search": "marc", "limit": 2})
    assert response["X-Count-Estimated"] == "true"
    assert response.json()["count"] >= 4 and len(response.json()["results"]) == 2


def test_pages_of_a_search(agent_client, agent):
    for n in range(5):
        make_contact(actor=agent, name=f"Marc {n}")
    pages = [agent_client.get(CONTACTS, {"search": "marc", "limit": 2, "page": p}).json()
             for p in (1, 2, 3)]  # fmt: skip
    assert [len(p["results"]) for p in pages] == [2, 2, 1]
    assert [p["count"] for p in pages] == [5, 5, 5]
    assert pages[0]["next"] and pages[2]["next"] is None
    assert_error(agent_client.get(CONTACTS, {"search": "marc", "limit": 2, "page": 4}), 404)
    assert_error(agent_client.get(CONTACTS, {"search": "marc", "page": "x"}), 404)


def test_search_with_other_filters(agent_client, agent, other_agent):
    make_contact(actor=agent, name="Marc Mine")
    make_contact(actor=other_agent, name="Marc Theirs")
    assert names(agent_client, "marc", created_by=str(agent.pk)) == ["Marc Mine"]


@pytest.mark.parametrize(
    "query", ["%", "_", "\\", "'", "marc%", "a" * 100, "🙂", "ﬀ", "\U0010ffff", "-- ;", "(((", "+"]
)
def test_odd_queries_never_fail(agent_client, agent, query):
    make_contact(actor=agent, name="Marc Stone")
    for url, param in ((CONTACTS, "search"), (SEARCH, "q")):
        response = agent_client.get(url, {param: query})
        assert response.status_code == 200, (query, response.content)
    assert_error(agent_client.get(CONTACTS, {"search": "a\x00b"}), 400)
    assert_error(agent_client.get(CONTACTS, {"search": "a" * 101}), 400)


def test_an_empty_query_is_the_whole_list(agent_client, book):
    assert len(agent_client.get(CONTACTS, {"search": "  "}).json()["results"]) == 5


def test_a_search_page_takes_a_fixed_number_of_queries(
    agent_client, agent, django_assert_max_num_queries
):
    for n in range(3):
        make_contact(actor=agent, name=f"Marc {n}")
    # 1. the authenticated user  2. the ranked page of ids with the total (the word index)
    # 3. those contacts' rows  4. their calls summed up and their numbers against the DNC entries
    with django_assert_max_num_queries(4):
        agent_client.get(CONTACTS, {"search": "mar"})
    for n in range(9):
        make_contact(actor=agent, name=f"Marc {n + 3}")
    with django_assert_max_num_queries(4):
        assert len(agent_client.get(CONTACTS, {"search": "mar"}).json()["results"]) == 12
    # The typo fallback adds one: 2b. the ranked page again, similar words included.
    with django_assert_max_num_queries(5):
        assert agent_client.get(CONTACTS, {"search": "macr"}).json()["count"] == 12


def test_every_contact_writer_keeps_the_word_index(agent, manager, manager_client):
    first = make_contact(actor=agent, name="Ada Lovelace")
    assert_index_in_step()
    # A batch: a new contact, and an older record replacing one (the name changes).
    outcomes = contacts_upsert(
        actor=agent,
        items=[
            ContactInput(name="Grace Hopper", phone=next_phone(), email="g.hopper@navy.example"),
            ContactInput(
                name="Augusta King",
                phone=first.phone_normalized,
                created_at=first.created_at.replace(year=2000),
            ),
        ],
    )
    assert_index_in_step()
    assert ContactWord.objects.filter(contact=first, word="augusta").exists()
    grace = Contact.objects.get(pk=outcomes[0].contact.pk)
    contact_update(actor=agent, contact=grace, name="Grace Brewster", company="Remington Rand")
    assert_index_in_step()
    contact_update(actor=agent, contact=grace, notes="notes are not searched")
    assert_index_in_step()
    contact_delete(actor=agent, contact=grace)
    assert_index_in_step()
    assert not ContactWord.objects.filter(contact=grace).exists()
    contact_restore(actor=manager, contact=grace)
    assert_index_in_step()
    # Bulk delete, and its undo.
    body = manager_client.post(
        f"{CONTACTS}/bulk", {"action": "delete", "contact_ids": [str(grace.pk)]}, format="json"
    ).json()
    assert_index_in_step()
    assert not ContactWord.objects.filter(contact=grace).exists()
    manager_client.post(f"{CONTACTS}/bulk/{body['id']}/undo")
    assert_index_in_step()
    assert ContactWord.objects.filter(contact=grace).exists()
    # An import's undo: a created contact goes, a replaced one gets its name back.
    created = make_contact(actor=agent, name="Imported Person")
    replaced = Contact.objects.get(pk=first.pk)
    contacts_import_revert(
        actor=manager,
        source="test",
        touched=[
            Touched(created.pk, "created", created.version),
            Touched(replaced.pk, "replaced", replaced.version, {"name": "Ada Lovelace"}),
        ],
    )
    assert_index_in_step()
    assert ContactWord.objects.filter(contact=first, word="lovelace").exists()


def test_the_word_index_answers_prefixes_by_range(agent):
    for n in range(300):
        make_contact(actor=agent, name=f"Person{n} Marc{n}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contactword")
        cursor.execute("SET LOCAL enable_seqscan = off")
    from contacts.search import search_ids_sql

    sql, params = search_ids_sql("marc1")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "contactword_prefix_idx" in plan


def test_prepared_page_rows_are_the_orm_rows(agent, settings):
    from contacts.selectors import contact_book_rows, contact_list, contact_rows
    from crm.db.prepared import rows_by_ids

    for name in ("Zoë Ünal", "Ada", "Bob"):
        make_contact(actor=agent, name=name)
    orm = list(contact_rows(contact_list())[1:3])
    assert contact_book_rows(contact_list())[1:3] == orm
    ids = [row["id"] for row in orm]
    by_id = rows_by_ids(lambda: contact_rows(contact_list().order_by()), ("test",), ids)
    assert sorted(by_id, key=lambda row: row["name"]) == sorted(orm, key=lambda row: row["name"])
