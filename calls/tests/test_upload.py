"""calls_upload: the one upload service behind POST /calls and the calls of POST /sync."""

import pytest

from calls.errors import CallBatchInvalid, CallBatchTooLarge
from calls.models import CallLog
from calls.services import VIEWERS_CANNOT_UPLOAD, calls_upload
from calls.tests.factories import call_payload

pytestmark = pytest.mark.django_db


def test_all_or_nothing_stores_nothing_when_one_item_is_bad(agent):
    items = [call_payload(), call_payload(direction="sideways"), call_payload()]
    with pytest.raises(CallBatchInvalid) as refused:
        calls_upload(user=agent, items=items)
    assert set(refused.value.errors) == {1}
    assert "direction" in refused.value.errors[1]
    assert not CallLog.objects.exists()


def test_skip_invalid_stores_the_good_items_and_reports_the_others(agent):
    items = [call_payload(), {"direction": "outgoing"}, "not a call", call_payload()]
    result = calls_upload(user=agent, items=items, skip_invalid=True)
    assert (result.created, result.duplicates) == (2, 0)
    assert [r["index"] for r in result.results] == [0, 3]
    assert set(result.errors) == {1, 2}
    assert result.errors[1]["started_at"] == ["This field is required."]
    assert CallLog.objects.count() == 2


def test_a_retried_upload_is_all_duplicates(agent):
    items = [call_payload(), call_payload(client_call_id="")]
    first = calls_upload(user=agent, items=items)
    again = calls_upload(user=agent, items=items)
    assert (first.created, again.created, again.duplicates) == (2, 0, 2)
    assert [r["id"] for r in again.results] == [r["id"] for r in first.results]


def test_the_batch_limit_holds_in_both_modes(agent, settings):
    settings.CALLS_MAX_BATCH = 3
    for skip_invalid in (False, True):
        with pytest.raises(CallBatchTooLarge):
            calls_upload(
                user=agent, items=[call_payload() for _ in range(4)], skip_invalid=skip_invalid
            )
    assert not CallLog.objects.exists()


def test_a_viewers_calls_are_all_refused(viewer):
    result = calls_upload(user=viewer, items=[call_payload(), call_payload()], skip_invalid=True)
    assert result.errors == {0: VIEWERS_CANNOT_UPLOAD, 1: VIEWERS_CANNOT_UPLOAD}
    assert result.created == 0
    with pytest.raises(CallBatchInvalid):
        calls_upload(user=viewer, items=[call_payload()])
    assert not CallLog.objects.exists()


def test_a_time_without_a_timezone_is_refused(agent):
    result = calls_upload(
        user=agent, items=[call_payload(started_at="2026-01-01T09:00:00")], skip_invalid=True
    )
    assert "timezone" in result.errors[0]["started_at"][0]
