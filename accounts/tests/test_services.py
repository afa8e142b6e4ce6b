"""The user service's rules, without HTTP: nobody locks themself out."""

import pytest

from accounts.errors import CannotDeleteSelf, CannotLockSelfOut
from accounts.models import Role
from accounts.services import user_deactivate, user_self_lockout_errors, user_update
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"is_active": False}, {"is_active"}),
        ({"role": Role.AGENT}, {"role"}),
        ({"role": Role.AGENT, "is_active": False}, {"role", "is_active"}),
        ({"role": Role.ADMIN}, set()),  # no change of role
        ({"is_active": True}, set()),
        ({}, set()),
    ],
)
def test_an_administrator_cannot_lock_themself_out(admin_user, change, fields):
    assert set(user_self_lockout_errors(actor=admin_user, user=admin_user, **change)) == fields


def test_another_administrator_may_change_them(admin_user):
    colleague = UserFactory(role=Role.ADMIN)
    errors = user_self_lockout_errors(
        actor=colleague, user=admin_user, role=Role.AGENT, is_active=False
    )
    assert errors == {}
    user_update(actor=colleague, user=admin_user, role=Role.MANAGER)
    admin_user.refresh_from_db()
    assert admin_user.role == Role.MANAGER


def test_user_update_enforces_it_and_changes_nothing(admin_user):
    with pytest.raises(CannotLockSelfOut) as refused:
        user_update(actor=admin_user, user=admin_user, name="New", role=Role.VIEWER)
    assert set(refused.value.errors) == {"role"}
    admin_user.refresh_from_db()
    assert (admin_user.name, admin_user.role) == ("Ada Admin", Role.ADMIN)


def test_nobody_deletes_themself(admin_user):
    with pytest.raises(CannotDeleteSelf):
        user_deactivate(actor=admin_user, user=admin_user)
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_a_command_without_an_actor_may_change_anyone(admin_user):
    user_update(actor=None, user=admin_user, is_active=False)
    admin_user.refresh_from_db()
    assert admin_user.is_active is False
