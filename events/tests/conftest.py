from datetime import timedelta

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from accounts.tests.factories import UserFactory
from crm.tests.processes import AppServer


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    """The production server command with two workers on the test database; heartbeats every
    second and at most three streams per user, to keep the tests short."""
    with (
        django_db_blocker.unblock(),
        AppServer(workers=2, EVENTS_HEARTBEAT_SECONDS="1", EVENTS_MAX_STREAMS_PER_USER="3") as app,
    ):
        yield app


@pytest.fixture
def agent(db):
    return UserFactory(role=Role.AGENT)


@pytest.fixture
def other_manager(db):
    return UserFactory(role=Role.MANAGER)


def token(user, lifetime: timedelta | None = None) -> str:
    """An access token for ``user`` (with a shorter ``lifetime`` if given)."""
    access = RefreshToken.for_user(user).access_token
    if lifetime is not None:
        access.set_exp(lifetime=lifetime)
    return str(access)
