"""Property-based fuzzing of every operation in our own OpenAPI schema (schemathesis),
authenticated as each role. Bounded and seeded so the run is repeatable and quick:
no 5xx, documented responses match the schema, every error has the contract's shape."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.models import Role
from accounts.tests.factories import UserFactory

schema = schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application())

ERROR_KEYS = {"code", "message", "details"}


def error_shape(ctx, response, case):
    if response.status_code < 400:
        return True
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == ERROR_KEYS, body
    assert isinstance(body["error"]["details"], dict), body
    return True


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Like Django's test client: requests must not close the test transaction's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=[Role.ADMIN, Role.MANAGER, Role.AGENT, Role.VIEWER])
def token(request, django_db_blocker):
    with django_db_blocker.unblock():
        user = UserFactory(role=request.param)
    return str(RefreshToken.for_user(user).access_token)


@pytest.mark.django_db
@schema.exclude(path_regex="^/api/v1/(schema|docs)$").parametrize()
@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_survives_fuzzing(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, response_schema_conformance, error_shape],
    )
