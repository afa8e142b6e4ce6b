"""User writes. Every path (API, admin, commands) goes through these functions."""

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.errors import CannotDeleteSelf, CannotLockSelfOut
from accounts.models import Role, User
from ledger.activity import activity_record


@transaction.atomic
def user_create(
    *, actor: User | None, email: str, password: str, name: str = "", role: str = Role.AGENT
) -> User:
    user = User(email=email.strip().lower(), name=name, role=role)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    activity_record(
        actor=actor, action="accounts.user.created", obj=user, changes={"role": [None, role]}
    )
    return user


def _revoke_refresh_tokens(user: User) -> None:
    tokens = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=t) for t in tokens], ignore_conflicts=True
    )


def user_self_lockout_errors(
    *, actor: User | None, user: User, role: str | None = None, is_active: bool | None = None
) -> dict[str, str]:
    """The one rule against locking yourself out: nobody deactivates themself or changes their
    own role (the team would be left without its administrator). Field -> message; empty when
    the change is allowed. user_update enforces it; the admin's form shows it on the fields."""
    if actor is None or actor.pk != user.pk:
        return {}
    errors = {}
    if is_active is False:
        errors["is_active"] = "You cannot deactivate yourself."
    if role is not None and role != user.role:
        errors["role"] = "You cannot change your own role."
    return errors


@transaction.atomic
def user_update(
    *,
    actor: User | None,
    user: User,
    name: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
) -> User:
    lockout = user_self_lockout_errors(actor=actor, user=user, role=role, is_active=is_active)
    if lockout:
        raise CannotLockSelfOut(lockout)
    changes: dict[str, list] = {}
    if name is not None and name != user.name:
        changes["name"] = [user.name, name]
        user.name = name
    if role is not None and role != user.role:
        changes["role"] = [user.role, role]
        user.role = role
    if is_active is not None and is_active != user.is_active:
        changes["is_active"] = [user.is_active, is_active]
        user.is_active = is_active
    if password:
        validate_password(password, user)
        user.set_password(password)
        changes["password"] = ["***", "***"]
    user.save()
    if user.is_active is False or "password" in changes:
        # Refresh tokens die with deactivation or a new password; access tokens are refused
        # by the authentication class as soon as is_active is false.
        _revoke_refresh_tokens(user)
    if changes:
        action = "accounts.user.updated"
        if "role" in changes:
            action = "accounts.user.role_changed"
        if changes.get("is_active") == [True, False]:
            action = "accounts.user.deactivated"
        activity_record(actor=actor, action=action, obj=user, changes=changes)
    return user


def user_deactivate(*, actor: User | None, user: User) -> User:
    """Deleting a user keeps their contacts, calls and history: it only switches them off."""
    if actor is not None and actor.pk == user.pk:
        raise CannotDeleteSelf()
    return user_update(actor=actor, user=user, is_active=False)
