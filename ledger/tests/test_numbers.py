"""Numbers changing hands: contacts announce, listeners (calls) act in the same transaction."""

import pytest
from django.db import transaction

from calls.tests.factories import make_call
from contacts.services import contact_delete, contact_update
from contacts.tests.factories import make_contact
from ledger import numbers

pytestmark = pytest.mark.django_db


class Recorder(numbers.NumberListener):
    def __init__(self):
        self.heard = []

    def numbers_live(self, *, numbers):
        self.heard.append(("live", list(numbers)))

    def number_moved(self, *, holder_id, old, new):
        self.heard.append(("moved", holder_id, old, new))


@pytest.fixture
def recorder():
    listener = Recorder()
    numbers.numbers_listen(listener)
    yield listener
    numbers._listeners.remove(listener)


def test_a_new_contact_announces_its_number(recorder):
    contact = make_contact(phone="+12025550111")
    assert recorder.heard == [("live", [contact.phone_normalized])]


def test_a_new_number_is_a_move_and_a_delete_is_none(recorder, agent):
    contact = make_contact(actor=agent, phone="+12025550111")
    contact_update(actor=agent, contact=contact, phone="+12025550122")
    contact_delete(actor=agent, contact=contact)
    assert recorder.heard[1:] == [("moved", contact.pk, "+12025550111", "+12025550122")]


def test_nothing_is_announced_for_a_number_already_held(recorder):
    make_contact(phone="+12025550111")
    make_contact(phone="+1 202 555 0111")  # the same number: "existing"
    assert recorder.heard == [("live", ["+12025550111"])]


def test_registering_twice_is_once(recorder):
    numbers.numbers_listen(recorder)
    make_contact(phone="+12025550111")
    assert len(recorder.heard) == 1


def test_calls_follow_in_the_writers_transaction(agent):
    call = make_call(user=agent, phone="+12025550133")
    with pytest.raises(RuntimeError), transaction.atomic():
        make_contact(phone="+12025550133")
        call.refresh_from_db()
        assert call.contact is not None  # linked inside the transaction ...
        raise RuntimeError
    call.refresh_from_db()
    assert call.contact is None  # ... and undone with it
