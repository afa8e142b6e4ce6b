"""A call's identity, from plain values: what makes a second upload of a call a duplicate."""

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

from calls.keys import CallKey

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def call(**values):
    base = {
        "device_id": "pixel-1",
        "client_call_id": "",
        "phone_normalized": "+12025550100",
        "started_at": T0,
        "direction": "outgoing",
    }
    return SimpleNamespace(**{**base, **values})


def test_with_a_call_id_the_key_is_device_and_call_id():
    key = CallKey.of(call(client_call_id="c1"))
    assert key.by_client
    # Number, time and direction do not matter then: a corrected entry is the same call.
    assert key == CallKey.of(
        call(client_call_id="c1", phone_normalized="+33612345678", direction="missed")
    )
    assert key != CallKey.of(call(client_call_id="c1", device_id="pixel-2"))
    assert key != CallKey.of(call(client_call_id="c2"))


def test_without_a_call_id_the_key_is_number_time_and_direction():
    key = CallKey.of(call())
    assert not key.by_client
    # The device does not matter: the same call seen by two apps of one user is one call.
    assert key == CallKey.of(call(device_id="tablet"))
    assert key != CallKey.of(call(direction="incoming"))
    assert key != CallKey.of(call(started_at=T0 + timedelta(seconds=1)))
    assert key != CallKey.of(call(phone_normalized="+12025550101"))


def test_the_two_forms_never_meet():
    assert CallKey.of(call()) != CallKey.of(call(client_call_id="c1"))


def test_an_upload_and_a_stored_row_give_equal_keys_whatever_the_offset():
    uploaded = call(started_at=T0.astimezone(timezone(timedelta(hours=-5))))  # the phone's offset
    stored = call(started_at=T0)  # as read back from the database, in UTC
    assert CallKey.of(uploaded) == CallKey.of(stored)
    assert hash(CallKey.of(uploaded)) == hash(CallKey.of(stored))


def test_a_key_is_made_of_its_fields_only():
    assert set(CallKey.FIELDS) == {
        "device_id",
        "client_call_id",
        "phone_normalized",
        "started_at",
        "direction",
    }
