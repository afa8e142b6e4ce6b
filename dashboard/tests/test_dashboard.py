"""The dashboard: every widget from one query, the figures right, for managers and admins."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.tests.factories import make_call
from contacts.tests.factories import make_contact
from dashboard import selectors
from dnc.services import DncEntryInput, dnc_entries_add, dnc_list_create
from jobs.models import ImportJob
from syncaudit.models import Device, SyncRecord

pytestmark = pytest.mark.django_db

URL = reverse("dashboard")


def _world(agent, other_agent, manager):
    now = timezone.now()
    make_contact(actor=agent, name="Known", phone="+12025550100")
    make_call(user=agent, phone="+12025550100", direction="incoming", duration_seconds=60,
              started_at=(now - timedelta(hours=1)).isoformat())  # fmt: skip
    make_call(
        user=agent,
        phone="+12025550101",
        direction="missed",
        started_at=(now - timedelta(hours=2)).isoformat(),
    )
    make_call(user=other_agent, phone="+12025550102", direction="outgoing", duration_seconds=600,
              started_at=(now - timedelta(days=2)).isoformat())  # fmt: skip
    make_call(
        user=agent,
        phone="+12025550103",
        direction="outgoing",
        started_at=(now - timedelta(days=40)).isoformat(),
    )
    dnc = dnc_list_create(actor=manager, name="Company", type="company")
    dnc_entries_add(actor=manager, items=[DncEntryInput(list=dnc.pk, phone="+12025550104")])
    make_call(user=agent, phone="+12025550104", direction="outgoing", duration_seconds=0,
              started_at=timezone.now().isoformat())  # after the entry: blocked then  # fmt: skip
    Device.objects.create(user=agent, device_id="old", app_version="1.2.0",
                          last_sync_at=now - timedelta(days=3))  # fmt: skip
    Device.objects.create(user=other_agent, device_id="new", app_version="1.10.0", last_sync_at=now)
    SyncRecord.objects.create(user=agent, outcome="ok")
    SyncRecord.objects.create(user=agent, outcome="error", error_code="boom")


def test_the_widgets_count_what_happened(agent, other_agent, manager):
    _world(agent, other_agent, manager)
    span = selectors.span_of(days=14)
    calls = selectors.calls_widget(span)
    assert (calls.total.incoming, calls.total.outgoing, calls.total.missed) == (1, 2, 1)
    assert calls.total.talk_seconds == 660 and calls.total.missed_rate == 0.5
    assert (
        calls.by_agent[agent.email].missed == 1 and calls.by_agent[other_agent.email].outgoing == 1
    )
    assert len(calls.by_day) == 14  # every day of the range, quiet ones included
    assert sum(selectors.new_contacts_per_day(span).values()) == 1
    devices = selectors.devices_to_look_at(now=timezone.now())
    assert [(d["device"].device_id, d["reasons"]) for d in devices] == [
        ("old", ["not synced for a day", "app 1.2.0, not the newest"]),
    ]  # 1.10 is newer than 1.2
    assert selectors.sync_health(span) | {"last": None} == {
        "total": 2, "failed": 1, "rate": 0.5, "last": None,
    }  # fmt: skip
    hits = selectors.dnc_hits(span)
    assert hits["total"] == 1 and hits["by_agent"] == {agent.email: 1}


def test_the_page_takes_one_query_per_widget(client, manager, agent, other_agent,
                                            django_assert_max_num_queries):  # fmt: skip
    _world(agent, other_agent, manager)
    ImportJob.objects.create(kind="contacts", filename="a.csv", size=1, created_by=manager,
                             status="running", progress=40)  # fmt: skip
    client.force_login(manager)
    # session, user; then the six widgets (calls, contacts, devices, syncs, imports, DNC hits)
    with django_assert_max_num_queries(8):
        response = client.get(URL, {"days": 30})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page and "a.csv" in page and "40%" in page
    assert "not synced for a day" in page and agent.email in page


def test_agents_do_not_see_the_dashboard(client, agent):
    client.force_login(agent)
    response = client.get(URL)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_the_index_links_the_dashboard(client, manager):
    client.force_login(manager)
    assert URL in client.get(reverse("admin:index")).content.decode()
