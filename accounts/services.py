"""User writes. Every path (API, admin, commands) goes through these functions."""

from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import InvalidToken, TokenBackendError, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.devices import DEVICE_CLAIM, device_for_login
from accounts.errors import CannotDeleteSelf, CannotLockSelfOut, EmailTaken
from accounts.models import Role, User
from ledger.activity import activity_record
from ledger.notify import USER_REVOKED, notify


@transaction.atomic
def user_create(
    *, actor: User | None, email: str, password: str, name: str = "", role: str = Role.AGENT
) -> User:
    user = User(email=email.strip().lower(), name=name, role=role)
    validate_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a create of the same address committed first
        raise EmailTaken() from None
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
        # by the authentication class as soon as is_active is false, and open event streams
        # end when this commits.
        _revoke_refresh_tokens(user)
        notify(USER_REVOKED, user=user.pk)
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


# --- sessions: refresh tokens -------------------------------------------------------------

# Every refresh token carries the id of the login it descends from (its family): rotation
# copies the claim into the new token, so one login is one family however often it refreshes.
FAMILY_CLAIM = "fam"


def session_start(*, user: User, device_id: str | None = None) -> RefreshToken:
    """A new login: a refresh token that starts its own family; with ``device_id`` (the
    phone's own id) it and its descendants belong to that phone's device row (created if the
    phone never synced)."""
    refresh = RefreshToken.for_user(user)
    refresh[FAMILY_CLAIM] = refresh[api_settings.JTI_CLAIM]
    if device_id:
        refresh[DEVICE_CLAIM] = device_for_login(user=user, device_id=device_id)
    # The outstanding-token row was written with the token's text before the claim was added.
    OutstandingToken.objects.filter(jti=refresh[api_settings.JTI_CLAIM]).update(token=str(refresh))
    return refresh


def _claims(raw: str, *, verify: bool) -> dict:
    return token_backend.decode(raw, verify=verify)


def session_refresh(*, raw: str) -> dict[str, str]:
    """Rotate a refresh token: a new access and refresh token, the old refresh token revoked.

    Exactly one refresh of a token succeeds: its outstanding-token row is locked until the
    rotation commits, so a parallel refresh of the same token waits and then finds it revoked.
    Using a revoked token again (a rotated or logged-out one) means a copy of it is in someone
    else's hands: the whole family (every token descending from the same login) is revoked,
    as OAuth 2.1 recommends, and the rightful phone signs in again."""
    try:
        claims = _claims(raw, verify=True)  # signature and expiry; not yet the blacklist
    except TokenBackendError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get(api_settings.TOKEN_TYPE_CLAIM) != RefreshToken.token_type:
        raise InvalidToken("Token has wrong type")
    with transaction.atomic():
        outstanding = (
            OutstandingToken.objects.select_for_update(of=("self",))
            .filter(jti=claims.get(api_settings.JTI_CLAIM))
            .order_by()  # its default ordering joins the (nullable) user
            .first()
        )
        reused = outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists()
        if reused:
            if outstanding is not None:
                _revoke_family(outstanding.user_id, claims.get(FAMILY_CLAIM))
        else:
            serializer = TokenRefreshSerializer(data={"refresh": raw})
            try:
                serializer.is_valid(raise_exception=True)
            except TokenError as exc:
                raise InvalidToken(exc.args[0]) from exc
            return serializer.validated_data
    raise InvalidToken("Token is blacklisted")  # after the revocation has committed


def sessions_revoke_device(*, user_id, device) -> int:
    """Sign a phone out: the user's live refresh tokens issued for ``device`` (a device row's
    id) are revoked; how many."""
    return _revoke_where(user_id, DEVICE_CLAIM, str(device))


def _revoke_family(user_id, family: str | None) -> None:
    """Revoke the user's live refresh tokens of ``family`` (every one of them for a token
    issued before families existed)."""
    _revoke_where(user_id, FAMILY_CLAIM, family)


def _revoke_where(user_id, claim: str, value: str | None) -> int:
    """Revoke the user's live refresh tokens whose ``claim`` is ``value`` (all of them for
    None)."""
    # Lock the user's tokens first: a refresh of one of them that is in flight either commits
    # before this (and its new token is in the read below) or waits and finds its token revoked.
    mine = OutstandingToken.objects.filter(user_id=user_id).order_by()
    list(mine.select_for_update(of=("self",)).values_list("id", flat=True))
    live = mine.filter(expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    doomed = [
        token
        for token in live
        if value is None or _claims(token.token, verify=False).get(claim) == value
    ]
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in doomed], ignore_conflicts=True
    )
    return len(doomed)
