"""JWT authentication: simplejwt's, with the user read by one plain statement.

Every API request reads its user (so a deactivated account or a changed password ends its
tokens at once, on every worker). simplejwt reads it through the ORM's ``get()``, whose query
building cost about three times the database round trip; the statement here is built once.
"""

import functools
import uuid

from django.db import connections
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from crm.db import server_prepared


@functools.cache
def _user_select(model, db: str) -> tuple[str, list[str]]:
    """The user row's statement, built once per process (DRF makes a new authenticator for
    every request, so it cannot live on the instance)."""
    meta = model._meta
    fields = list(meta.concrete_fields)
    quote = connections[db].ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608 - names from the model
    return sql, [f.attname for f in fields]


class JWTAuthentication(SimpleJWTAuthentication):
    def get_user(self, validated_token):
        try:
            user_id = uuid.UUID(str(validated_token[api_settings.USER_ID_CLAIM]))
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        except ValueError as exc:
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from exc
        db = self.user_model.objects.db
        if self.user_model._meta.pk.name != api_settings.USER_ID_FIELD:
            return super().get_user(validated_token)
        sql, attnames = _user_select(self.user_model, db)
        # Every request runs it: prepared once per connection (crm.db.server_prepared).
        with server_prepared.cursor(db) as cursor:
            cursor.execute(sql, [user_id])
            row = cursor.fetchone()
        if row is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        # The same checks as simplejwt's get_user, on the same model instance.
        return self._checked(self.user_model.from_db(db, attnames, row), validated_token)

    def _checked(self, user, validated_token):
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return user


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI bearer scheme of simplejwt's authentication, for this subclass too."""

    target_class = "accounts.authentication.JWTAuthentication"
