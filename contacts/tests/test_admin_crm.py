"""The back office's CRM pages: tag and list filters, the bulk actions, lists with their
members, custom field definitions, and bulk operations with their undo."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts.tests.factories import UserFactory
from contacts.lists import list_create, list_members_add
from contacts.models import BulkOperation, Contact, ContactField, ContactList
from contacts.services import contact_update
from contacts.tests.factories import make_contact

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:contacts_contact_changelist")


@pytest.fixture
def site(client, admin_user):
    client.force_login(admin_user)
    return client


def _act(site, action, contacts, **form):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(c.pk) for c in contacts], **form}
    return site.post(CHANGELIST, data, follow=True)


def test_tag_and_list_filters(site, admin_user, agent):
    tagged, plain = make_contact(actor=agent, name="Tagged"), make_contact(actor=agent, name="P")
    contact_update(actor=agent, contact=tagged, tags=["VIP"])
    campaign = list_create(actor=admin_user, name="Campaign")
    list_members_add(actor=admin_user, contact_list=campaign, contact_ids=[plain.pk])
    by_tag = site.get(CHANGELIST, {"tag": "vip"}).content.decode()
    assert "Tagged" in by_tag and ">P<" not in by_tag
    assert "VIP (1)" in site.get(CHANGELIST).content.decode()  # the filter's choices
    by_list = site.get(CHANGELIST, {"list": str(campaign.pk)}).content.decode()
    assert ">P<" in by_list and "Tagged" not in by_list


def test_the_add_tags_action_asks_then_runs_the_bulk_operation(site, agent):
    contacts = [make_contact(actor=agent) for _ in range(3)]
    page = _act(site, "add_tags", contacts)
    assert "Add tags: 3 contacts selected" in page.content.decode()
    done = _act(site, "add_tags", contacts, tags="VIP, Fair 2026", apply="1")
    assert "3 of 3 contact(s) done" in done.content.decode()
    assert all(c.tags == ["VIP", "Fair 2026"] for c in Contact.objects.all())
    operation = BulkOperation.objects.get()
    assert (operation.action, operation.succeeded) == ("add_tags", 3)


def test_list_and_owner_actions(site, admin_user, agent):
    contacts = [make_contact(actor=agent) for _ in range(2)]
    campaign = list_create(actor=admin_user, name="Campaign")
    _act(site, "add_to_list", contacts, list=str(campaign.pk), apply="1")
    assert all(campaign.pk in c.lists for c in Contact.objects.all())
    _act(site, "remove_from_list", contacts[:1], list=str(campaign.pk), apply="1")
    assert Contact.objects.filter(lists__contains=[campaign.pk]).count() == 1
    owner = UserFactory()
    _act(site, "set_owner", contacts, owner=str(owner.pk), apply="1")
    assert set(Contact.objects.values_list("created_by", flat=True)) == {owner.pk}


def test_undo_from_the_bulk_operations_page(site, agent):
    contacts = [make_contact(actor=agent) for _ in range(2)]
    _act(site, "add_tags", contacts, tags="temp", apply="1")
    operation = BulkOperation.objects.get()
    changelist = reverse("admin:contacts_bulkoperation_changelist")
    assert (
        site.get(reverse("admin:contacts_bulkoperation_change", args=[operation.pk])).status_code
        == 200
    )
    response = site.post(
        changelist, {"action": "undo", ACTION_CHECKBOX_NAME: [str(operation.pk)]}, follow=True
    )
    assert "2 put back" in response.content.decode()
    assert all(c.tags == [] for c in Contact.objects.all())


def test_lists_are_managed_through_the_services(site, admin_user, agent):
    add = reverse("admin:contacts_contactlist_add")
    response = site.post(add, {"name": "Fair", "description": "Leads",
                               "memberships-TOTAL_FORMS": "0",
                               "memberships-INITIAL_FORMS": "0"})  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    created = ContactList.live.get()
    assert created.version > 0 and created.created_by == admin_user
    duplicate = site.post(add, {"name": "FAIR", "memberships-TOTAL_FORMS": "0",
                                "memberships-INITIAL_FORMS": "0"})  # fmt: skip
    assert duplicate.status_code == 200  # the form again, with the error
    assert ContactList.objects.count() == 1
    contact = make_contact(actor=agent, name="Member One")
    list_members_add(actor=admin_user, contact_list=created, contact_ids=[contact.pk])
    page = site.get(reverse("admin:contacts_contactlist_change", args=[created.pk]))
    assert "Member One" in page.content.decode()
    changelist = site.get(reverse("admin:contacts_contactlist_changelist")).content.decode()
    assert "Fair" in changelist
    site.post(reverse("admin:contacts_contactlist_delete", args=[created.pk]), {"post": "yes"})
    assert ContactList.objects.get().deleted_at is not None
    assert Contact.objects.get(pk=contact.pk).lists == []


def test_custom_fields_are_defined_and_deleting_deactivates(site):
    add = reverse("admin:contacts_contactfield_add")
    bad = site.post(add, {"key": "stage", "label": "Stage", "type": "choice", "choices": ""})
    assert bad.status_code == 200 and not ContactField.objects.exists()
    ok = site.post(add, {"key": "stage", "label": "Stage", "type": "choice",
                         "choices": "Lead,Customer", "active": "on"})  # fmt: skip
    assert ok.status_code == 302
    assert ContactField.objects.get().choices == ["Lead", "Customer"]
    site.post(reverse("admin:contacts_contactfield_delete", args=["stage"]), {"post": "yes"})
    assert ContactField.objects.get().active is False
