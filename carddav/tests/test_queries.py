"""Query counts of the requests a phone repeats a thousand times, pinned, with N and 3N cards
(the count must not grow with the book)."""

import pytest

from carddav.tests.helpers import DavClient
from contacts.tests.factories import make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone(agent):
    phone = DavClient(agent)
    phone.propfind(phone.book)  # the first use writes last_used_at; later ones do not
    return phone


@pytest.mark.parametrize("count", [10, 30])
def test_a_multiget_of_ten_is_two_queries(phone, agent, django_assert_max_num_queries, count):
    contacts = [make_contact(actor=agent) for _ in range(count)]
    hrefs = [f"{phone.book}{c.pk}.vcf" for c in contacts[:10]]
    # 1. the app password and its user (accounts.apppasswords.app_password_user)
    # 2. the ten cards, by contact id and by client-chosen name (selectors.cards_by_name)
    with django_assert_max_num_queries(2):
        ms = phone.multiget(hrefs)
    assert len(ms.responses()) == 10


@pytest.mark.parametrize("count", [10, 30])
def test_a_sync_collection_page_is_four_queries(phone, agent, django_assert_max_num_queries, count):
    for _ in range(count):
        make_contact(actor=agent)
    # 1. the app password and its user
    # 2. the contact feed's state (epoch, head) for the token check
    # 3. the page: ids, versions, deleted flags and client names (syncaudit feed_rows)
    # 4. names retired in the page's range of versions
    with django_assert_max_num_queries(4):
        ms = phone.sync(limit=5)
    assert len(ms.responses()) == 6  # five members and the 507 "more"
    with django_assert_max_num_queries(4):
        phone.sync()
