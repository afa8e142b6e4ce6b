"""The do-not-call pages of the back office, and the compliance report."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from calls.tests.factories import make_call
from dnc.models import DncEntry, DncList
from dnc.services import DncEntryInput, dnc_entries_add, dnc_list_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(client, admin_user):
    client.force_login(admin_user)
    return client


def test_lists_are_created_and_counted_through_the_services(site):
    response = site.post(reverse("admin:dnc_dnclist_add"),
                         {"name": "Company", "type": "company", "active": "on"})  # fmt: skip
    assert response.status_code == 302
    dnc_list = DncList.objects.get()
    assert dnc_list.type == "company" and dnc_list.active
    page = site.get(reverse("admin:dnc_dnclist_changelist")).content.decode()
    assert "Company" in page
    change = site.get(reverse("admin:dnc_dnclist_change", args=[dnc_list.pk])).content.decode()
    assert "Add numbers from a CSV file" in change


def test_a_csv_of_numbers_is_added_all_or_nothing(site, admin_user):
    dnc_list = dnc_list_create(actor=admin_user, name="Company", type="company")
    url = reverse("admin:dnc_dnclist_import", args=[dnc_list.pk])
    assert site.get(url).status_code == 200
    good = SimpleUploadedFile("n.csv", b"phone,reason\n(202) 555-0100,asked\n+12025550101,\n")
    site.post(url, {"file": good})
    assert set(DncEntry.objects.values_list("phone_normalized", flat=True)) == {
        "+12025550100", "+12025550101",
    }  # fmt: skip
    bad = SimpleUploadedFile("n.csv", b"phone\n+12025550102\nnot a number\n")
    response = site.post(url, {"file": bad}, follow=True)
    assert "Nothing was added" in response.content.decode()
    assert DncEntry.objects.count() == 2


def test_entries_are_found_by_a_number_in_any_format(site, admin_user):
    dnc_list = dnc_list_create(actor=admin_user, name="Company", type="company")
    dnc_entries_add(actor=admin_user, items=[
        DncEntryInput(list=dnc_list.pk, phone="+12025550100"),
        DncEntryInput(list=dnc_list.pk, phone="+12025550199"),
    ])  # fmt: skip
    page = site.get(reverse("admin:dnc_dncentry_changelist"), {"q": "(202) 555-0100"})
    assert [e.phone_normalized for e in page.context["cl"].result_list] == ["+12025550100"]


def test_the_compliance_report_lists_outgoing_calls_to_blocked_numbers(site, admin_user, agent):
    dnc_list = dnc_list_create(actor=admin_user, name="Federal", type="federal")
    dnc_entries_add(actor=admin_user, items=[
        DncEntryInput(list=dnc_list.pk, phone="+12025550100", reason="registry"),
    ])  # fmt: skip
    now = timezone.now().isoformat()
    make_call(user=agent, phone="+12025550100", direction="outgoing", started_at=now)
    make_call(user=agent, phone="+12025550100", direction="incoming", started_at=now)
    before = (timezone.now() - timedelta(days=2)).isoformat()
    make_call(user=agent, phone="+12025550100", direction="outgoing", started_at=before)
    response = site.get(reverse("admin:calls_calllog_dnc_report"))
    assert response.status_code == 200
    assert [row[1:] for row in response.context["per_day"]] == [(agent.email, 1)]
    assert response.context["calls"][0][3:5] == ("Federal", "registry")


def test_a_call_counts_as_blocked_by_the_entries_as_they_were_when_it_started(admin_user, agent):
    from calls.selectors import calls_to_blocked_numbers

    now = timezone.now()
    federal = dnc_list_create(actor=admin_user, name="Federal", type="federal")
    company = dnc_list_create(actor=admin_user, name="Company", type="company")
    paused = dnc_list_create(actor=admin_user, name="Paused", type="company")
    DncList.objects.filter(pk=paused.pk).update(active=False)
    numbers = {
        "deleted after": "+12025550101",  # blocked then: counts
        "deleted before": "+12025550102",  # no longer blocked then
        "expired before": "+12025550103",
        "added after": "+12025550104",
        "paused list": "+12025550105",
        "two lists": "+12025550106",  # blocked twice: one call, two reasons
    }
    entries = dnc_entries_add(actor=admin_user, items=[
        DncEntryInput(list=paused.pk if case == "paused list" else federal.pk, phone=phone,
                      reason=case)
        for case, phone in numbers.items()
    ] + [DncEntryInput(list=company.pk, phone=numbers["two lists"], reason="company")])  # fmt: skip
    by_reason = {entry.reason: entry for entry, _ in entries}
    started = now - timedelta(days=1)
    DncEntry.objects.update(created_at=started - timedelta(days=1))
    DncEntry.objects.filter(pk=by_reason["deleted after"].pk).update(deleted_at=now)
    DncEntry.objects.filter(pk=by_reason["deleted before"].pk).update(
        deleted_at=started - timedelta(hours=1)
    )
    DncEntry.objects.filter(pk=by_reason["expired before"].pk).update(
        expires_at=started - timedelta(hours=1)
    )
    DncEntry.objects.filter(pk=by_reason["added after"].pk).update(created_at=now)
    calls = {
        case: make_call(user=agent, phone=phone, direction="outgoing",
                        started_at=started.isoformat(), client_call_id=f"blocked-{case}")
        for case, phone in numbers.items()
    }  # fmt: skip
    report = calls_to_blocked_numbers(since=now - timedelta(days=2), until=now)
    assert [row[1:] for row in report["per_day"]] == [(agent.email, 2)]
    listed = sorted((row[5], row[3], row[4]) for row in report["calls"])
    assert listed == sorted([
        (calls["deleted after"].pk, "Federal", "deleted after"),
        (calls["two lists"].pk, "Federal", "two lists"),
        (calls["two lists"].pk, "Company", "company"),
    ])  # fmt: skip


def test_the_expiry_command_versions_what_has_expired(admin_user):
    dnc_list = dnc_list_create(actor=admin_user, name="Company", type="company")
    ((entry, _),) = dnc_entries_add(actor=admin_user, items=[
        DncEntryInput(list=dnc_list.pk, phone="+12025550100",
                      expires_at=timezone.now() + timedelta(hours=1)),
    ])  # fmt: skip
    DncEntry.objects.filter(pk=entry.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    call_command("dnc_expire")
    entry.refresh_from_db()
    assert entry.expired and entry.version > 0
