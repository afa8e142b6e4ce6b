"""The back office as a manager uses it: folded search, restoring a deleted contact."""

import pytest
from django.urls import reverse

from calls.tests.factories import make_call
from contacts.models import Contact
from contacts.services import contact_delete
from contacts.tests.factories import make_contact

pytestmark = pytest.mark.django_db

CONTACTS = reverse("admin:contacts_contact_changelist")
CALLS = reverse("admin:calls_calllog_changelist")


@pytest.fixture
def site(client, manager):
    client.force_login(manager)  # a manager, not an admin
    return client


@pytest.mark.parametrize(
    ("typed", "name"),
    [("goncalves", "João Gonçalves"), ("NUNEZ", "Ana Núñez"), ("muller", "Jürgen Müller"),
     ("(202) 555-0143", "Ada Lovelace")],
)  # fmt: skip
def test_contact_and_call_search_ignore_accents_and_case(site, agent, typed, name):
    phones = {"João Gonçalves": "+351912345678", "Ana Núñez": "+525512345678",
              "Jürgen Müller": "+4915123456789", "Ada Lovelace": "+12025550143"}  # fmt: skip
    for who, phone in phones.items():
        make_call(user=agent, phone=make_contact(actor=agent, name=who, phone=phone).phone)
    page = site.get(CONTACTS, {"q": typed}).content.decode()
    assert name in page
    assert sum(other in page for other in phones if other != name) == 0
    calls = site.get(CALLS, {"q": typed}).content.decode()
    assert name in calls


def test_a_deleted_contact_is_restored_through_the_service(site, agent, manager):
    gone = make_contact(actor=agent, name="Gone", phone="+12025550143")
    contact_delete(actor=agent, contact=gone)
    gone.refresh_from_db()
    deleted_version = gone.version
    page = site.get(reverse("admin:contacts_contact_change", args=[gone.pk])).content.decode()
    assert "Restore this contact" in page
    response = site.post(reverse("admin:contacts_contact_restore", args=[gone.pk]), follow=True)
    assert "restored" in response.content.decode()
    gone.refresh_from_db()
    assert gone.deleted_at is None and gone.version > deleted_version  # phones get it back


def test_a_contact_whose_number_was_taken_since_is_not_restored(site, agent):
    gone = make_contact(actor=agent, name="Gone", phone="+12025550143")
    contact_delete(actor=agent, contact=gone)
    make_contact(actor=agent, name="New holder", phone="+1 202 555 0143")
    response = site.post(reverse("admin:contacts_contact_restore", args=[gone.pk]), follow=True)
    assert (
        "New holder" in response.content.decode()
        and "holds this number" in response.content.decode()
    )
    assert Contact.objects.get(pk=gone.pk).deleted_at is not None


def test_the_delete_page_says_the_delete_is_soft(site, agent):
    contact = make_contact(actor=agent, name="Soon gone")
    page = site.get(reverse("admin:contacts_contact_delete", args=[contact.pk])).content.decode()
    assert "its calls are kept" in page and "can be restored" in page


def test_the_unknown_caller_inbox_and_its_create_contact(site, agent, other_agent, manager):
    from calls.models import CallLog, OwnNumber
    from dnc.services import DncEntryInput, dnc_entries_add, dnc_list_create

    make_contact(actor=agent, name="Known", phone="+12025550100")
    for user, phone in (
        (agent, "+12025550177"),
        (other_agent, "(202) 555-0177"),
        (agent, "+12025550100"),
        (agent, "+12025550188"),
        (agent, "+12025550199"),
    ):
        make_call(user=user, phone=phone)  # fmt: skip
    OwnNumber.objects.create(phone="+12025550188", phone_normalized="+12025550188", label="Desk")
    dnc = dnc_list_create(actor=manager, name="Company", type="company")
    dnc_entries_add(actor=manager, items=[DncEntryInput(list=dnc.pk, phone="+12025550199")])
    url = reverse("admin:calls_calllog_unknown_callers")
    assert url in site.get(CALLS).content.decode()  # linked from the calls list
    page = site.get(url)
    callers = page.context["callers"]
    assert [(c["phone_normalized"], c["calls"]) for c in callers] == [("+12025550177", 2)]
    assert callers[0]["users"] == sorted([agent.email, other_agent.email])
    response = site.post(url, {"phone": "+12025550177", "name": "New Lead"}, follow=True)
    assert "2 call(s) now show under it" in response.content.decode()
    lead = Contact.live.get(name="New Lead")
    assert CallLog.objects.filter(contact=lead).count() == 2
    assert site.get(url).context["callers"] == []


def test_own_numbers_are_kept_normalised(site):
    from calls.models import OwnNumber

    add = reverse("admin:calls_ownnumber_add")
    site.post(add, {"phone": "(202) 555-0188", "label": "Desk"})
    assert OwnNumber.objects.get().phone_normalized == "+12025550188"
    again = site.post(add, {"phone": "+1 202 555 0188", "label": "Twice"})
    assert "listed already" in again.content.decode()


def test_the_history_reads_like_the_business(site, agent, manager):
    from contacts.services import contact_update

    contact = make_contact(actor=agent, name="Ada")
    contact_update(actor=manager, contact=contact, name="Ada King")
    from contacts.bulk import bulk_run

    bulk_run(actor=manager, action="set_owner", contact_ids=[contact.pk],
             data={"owner": str(manager.pk)})  # fmt: skip
    page = site.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
    assert "Contact created" in page and "Contact edited" in page
    assert "contacts.contact.created" not in page
    log = site.get(reverse("admin:ledger_activity_changelist")).content.decode()
    assert "Contact created" in log and "View site" not in log
    history = site.get(reverse("admin:contacts_contact_history", args=[contact.pk]))
    assert history.status_code == 302 and f"object_id={contact.pk}" in history["Location"]
    assert site.get(history["Location"]).status_code == 200


def test_call_durations_read_as_minutes():
    from crm.text import duration_text

    assert [duration_text(s) for s in (0, 42, 60, 1386, 7322)] == [
        "0 s", "42 s", "1 min", "23 min 6 s", "2 h 2 min",
    ]  # fmt: skip


def test_the_activity_labels():
    from ledger.activity import activity_label

    assert activity_label("contacts.contact.created") == "Contact created"
    assert activity_label("syncaudit.device.touched") == "Device touched"


def test_a_contact_page_counts_its_calls_and_links_them_all(site, agent):
    contact = make_contact(actor=agent, name="Called", phone="+12025550143")
    for _ in range(2):
        make_call(user=agent, phone=contact.phone)
    make_call(user=agent, phone="+12025550199")
    page = site.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
    assert "2 call(s), the last" in page
    link = f"{CALLS}?contact__id__exact={contact.pk}"
    assert link in page
    assert site.get(link).context["cl"].result_count == 2


def test_a_user_page_shows_their_devices_contacts_calls_and_last_sync(client, admin_user, agent):
    from syncaudit.models import Device, SyncRecord

    make_call(user=agent, phone=make_contact(actor=agent, name="Mine").phone)
    Device.objects.create(user=agent, device_id="pixel-7", platform="android", app_version="2.1")
    SyncRecord.objects.create(user=agent)
    client.force_login(admin_user)
    page = client.get(reverse("admin:accounts_user_change", args=[agent.pk])).content.decode()
    assert "1 contact(s)</a>" in page and "1 call(s)</a>" in page
    assert "pixel-7 (android 2.1)" in page and "last sync: never" not in page
