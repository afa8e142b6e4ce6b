"""Every page of the back office, for every role: what accounts/roles.py allows opens, the
rest is refused (403 inside the admin; agents and viewers are sent to the login page)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import Role
from accounts.roles import BACK_OFFICE, role_may
from accounts.tests.factories import UserFactory
from calls.tests.factories import make_call
from contacts.lists import list_create
from contacts.models import ContactField
from contacts.tests.factories import make_contact
from dnc.services import DncEntryInput, dnc_entries_add, dnc_list_create

pytestmark = pytest.mark.django_db

ROLES = (Role.ADMIN, Role.MANAGER, Role.AGENT, Role.VIEWER)


def _models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def world(admin_user):
    contact = make_contact(actor=admin_user)
    make_call(user=admin_user, phone=contact.phone_normalized)
    list_create(actor=admin_user, name="Campaign")
    ContactField.objects.create(key="budget", label="Budget", type="number")
    dnc_list = dnc_list_create(actor=admin_user, name="Company", type="company")
    dnc_entries_add(actor=admin_user, items=[DncEntryInput(list=dnc_list.pk, phone="+12025550100")])


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_for_every_role(client, world, role):
    user = UserFactory(role=role)
    client.force_login(user)
    index = client.get(reverse("admin:index"))
    if role in (Role.AGENT, Role.VIEWER):
        assert index.status_code == 302 and reverse("admin:login") in index["Location"]
    else:
        assert index.status_code == 200
    for model in _models():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = client.get(changelist)
        label = f"{meta.app_label}.{meta.model_name}"
        if role in (Role.AGENT, Role.VIEWER):
            assert response.status_code == 302, (role, label)
            continue
        may_view = role_may(role, f"{meta.app_label}.view_{meta.model_name}")
        assert response.status_code == (200 if may_view else 403), (role, label)
        obj = model._default_manager.first()
        if may_view and obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, (role, label, "change page")
        listed = index.content.decode()
        shown = f'href="{changelist}"' in listed
        on_index = may_view and admin.site._registry[model].has_module_permission(
            index.wsgi_request
        )
        assert shown == on_index, (role, label, "on the index")


def test_a_manager_gets_the_api_rights_and_nothing_more():
    rights = BACK_OFFICE[Role.MANAGER]
    for hidden in ("accounts.user", "contacts.contactfield", "ledger.changefeed",
                   "procrastinate.procrastinatejob", "axes.accessattempt"):  # fmt: skip
        assert hidden not in rights
    assert rights["contacts.contact"] >= {"view", "add", "change", "delete"}
    assert rights["calls.calllog"] == {"view"}  # the phones' record: read only
    assert not role_may(Role.AGENT, "contacts.view_contact")
    assert role_may(Role.ADMIN, "accounts.change_user")


def test_a_manager_signs_in_to_the_back_office(client, manager):
    from accounts.tests.factories import PASSWORD

    response = client.post(reverse("admin:login"), {
        "username": manager.email, "password": PASSWORD, "next": reverse("admin:index"),
    })  # fmt: skip
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
