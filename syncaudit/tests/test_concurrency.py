"""Many phones syncing the same numbers and the same call batches at the same moment."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from accounts.tests.factories import UserFactory
from calls.models import CallLog
from calls.tests.factories import call_payload
from contacts.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2025, 3, 1, tzinfo=UTC)
NUMBERS = [f"+1202555{n:04d}" for n in range(100, 110)]


def test_phones_pushing_the_same_numbers_and_calls_at_once(client_for):
    phones = 6
    users = [UserFactory() for _ in range(phones)]
    shared_calls = [call_payload(client_call_id=f"shared-{n}") for n in range(20)]
    barrier = threading.Barrier(phones)
    answers, errors = [None] * phones, []

    def phone(i):
        try:
            client = client_for(users[i % 2])  # two users, three phones each
            body = {
                "device": {"id": f"phone-{i}"},
                "contacts": [
                    {
                        "name": f"phone {i} number {n}",
                        "phone": number,
                        "created_at": (T0 + timedelta(minutes=(i * 7 + n) % phones)).isoformat(),
                    }
                    for n, number in enumerate(NUMBERS)
                ],
                "calls": shared_calls,
            }
            barrier.wait()
            answers[i] = client.post("/api/v1/sync", body, format="json")
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=phone, args=(i,)) for i in range(phones)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert [a.status_code for a in answers] == [200] * phones
    # One contact per number, and it is the oldest of all the phones' versions.
    assert Contact.live.count() == len(NUMBERS)
    for n, number in enumerate(NUMBERS):
        oldest = min(T0 + timedelta(minutes=(i * 7 + n) % phones) for i in range(phones))
        assert Contact.live.get(phone_normalized=number).created_at == oldest
    # The two users' call batches are stored once each, however many phones sent them.
    assert CallLog.objects.count() == 2 * len(shared_calls)
    results = [r for a in answers for r in a.json()["contacts"]["results"]]
    assert {r["result"] for r in results} <= {"created", "existing", "replaced"}
    # Every phone can follow the feed to the same complete book.
    feed = client_for(users[0]).get("/api/v1/sync/contacts", {"limit": 5000}).json()
    assert {c["phone_normalized"] for c in feed["changes"]} == set(NUMBERS)
