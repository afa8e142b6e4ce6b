from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from contacts.tests.factories import make_contact
from ledger.models import Activity, ChangeFeed
from syncaudit.admin import version_key
from syncaudit.models import Device, SyncRecord
from syncaudit.services import SyncRequest, sync_run

pytestmark = pytest.mark.django_db

DEVICES = reverse("admin:syncaudit_device_changelist")
RECORDS = reverse("admin:syncaudit_syncrecord_changelist")
ACTIVITY = reverse("admin:ledger_activity_changelist")
FEEDS = reverse("admin:ledger_changefeed_changelist")


@pytest.fixture
def site(client, admin_user):
    client.force_login(admin_user)
    return client


def sync(user, device_id: str, app_version: str = "1.0.0", days_ago: int | None = None):
    """A real POST /sync round trip (device, audit record); optionally backdated."""
    sync_run(
        user=user,
        request=SyncRequest(device_id=device_id, platform="android", app_version=app_version),
        raw_cursor="",
        client_address="127.0.0.1",
    )
    if days_ago is not None:
        # Time travel for the test only: nothing in the app writes an old sync time.
        Device.objects.filter(user=user, device_id=device_id).update(
            last_sync_at=timezone.now() - timedelta(days=days_ago)
        )


def listed(site, url, **params) -> list:
    response = site.get(url, params)
    assert response.status_code == HTTPStatus.OK
    return list(response.context["cl"].result_list)


def test_the_lists_run_a_constant_number_of_queries(site, django_assert_num_queries):
    # Per list, besides 1 session and 2 admin user:
    # devices: 3 app versions (filter), 4 platforms (filter), 5 COUNT filtered, 6 COUNT all,
    #   7 the page with users;
    # sync records: 3 users (filter), 4 COUNT filtered, 5 the page with users, 6 MIN/MAX and
    #   7 distinct days (date hierarchy);
    # activity: 3 actions, 4 object types (filters), 5 COUNT filtered, 6 the page with actors,
    #   7 MIN/MAX and 8 distinct days (date hierarchy);
    # feeds: 3 COUNT filtered, 4 COUNT all, 5 the page.
    expected = {DEVICES: 7, RECORDS: 7, ACTIVITY: 8, FEEDS: 5}

    def add(n):
        for _ in range(n):
            user = UserFactory()
            sync(user, "pixel", app_version=f"1.{n}.0")
            make_contact(actor=user)

    add(2)
    for url, count in expected.items():
        with django_assert_num_queries(count):
            site.get(url)
    add(4)
    for url, count in expected.items():
        with django_assert_num_queries(count):
            site.get(url)


def test_it_lists_devices_not_synced_for_a_while(site):
    user = UserFactory()
    sync(user, "fresh")
    sync(user, "week-old", days_ago=8)
    sync(user, "month-old", days_ago=40)

    def devices(**params):
        return sorted(d.device_id for d in listed(site, DEVICES, **params))

    assert devices() == ["fresh", "month-old", "week-old"]
    assert devices(not_synced_for="1") == ["month-old", "week-old"]
    assert devices(not_synced_for="7") == ["month-old", "week-old"]
    assert devices(not_synced_for="30") == ["month-old"]


def test_it_lists_devices_on_an_older_app_version(site):
    user = UserFactory()
    sync(user, "a", app_version="1.9.7")
    sync(user, "b", app_version="1.10.2")
    sync(user, "c", app_version="1.10.0")
    outdated = sorted(d.device_id for d in listed(site, DEVICES, app_version="outdated"))
    assert outdated == ["a", "c"]
    assert [d.device_id for d in listed(site, DEVICES, app_version="1.9.7")] == ["a"]
    assert "Older than 1.10.2" in site.get(DEVICES).content.decode()


def test_version_key_compares_numbers():
    assert sorted(["1.10.0", "1.9.7", "2.0", "1.10.2"], key=version_key) == [
        "1.9.7",
        "1.10.0",
        "1.10.2",
        "2.0",
    ]


def test_it_lists_sync_records_by_outcome_and_user(site):
    alice, bob = UserFactory(), UserFactory()
    sync(alice, "a")
    sync(bob, "b")
    assert [r.user for r in listed(site, RECORDS, user__id__exact=alice.pk)] == [alice]
    assert len(listed(site, RECORDS, outcome__exact="ok")) == 2
    assert listed(site, RECORDS, outcome__exact="error") == []


def test_it_searches_activity_and_filters_by_action(site, admin_user):
    make_contact(actor=admin_user, name="Findable Person", phone="+12022345678")
    make_contact(actor=admin_user, name="Other")
    found = listed(site, ACTIVITY, q="Findable")
    assert [a.object_repr for a in found] == ["Findable Person (+12022345678)"]
    assert len(listed(site, ACTIVITY, action__exact="contacts.contact.created")) == 2
    assert listed(site, ACTIVITY, action__exact="contacts.contact.deleted") == []


@pytest.mark.parametrize(
    ("model_name", "model"),
    [
        ("device", Device),
        ("syncrecord", SyncRecord),
        ("activity", Activity),
        ("changefeed", ChangeFeed),
    ],
)
def test_logs_are_read_only(site, model_name, model):
    sync(UserFactory(), "pixel")
    make_contact()
    app = model._meta.app_label
    add = reverse(f"admin:{app}_{model_name}_add")
    assert site.get(add).status_code == HTTPStatus.FORBIDDEN
    pk = model.objects.values_list("pk", flat=True).first()
    response = site.get(reverse(f"admin:{app}_{model_name}_change", args=[pk]))
    assert response.status_code == HTTPStatus.OK
    assert response.context["has_change_permission"] is False
    delete = reverse(f"admin:{app}_{model_name}_delete", args=[pk])
    assert site.get(delete).status_code == HTTPStatus.FORBIDDEN
