"""Fixtures shared by every app's tests. Tests run on PostgreSQL (make test)."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from accounts.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def _client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.user = user
    return client


@pytest.fixture
def client_for():
    """client_for(user) -> an APIClient that sends a real JWT for that user."""
    return _client_for


@pytest.fixture
def admin_user(db):
    return UserFactory(role=Role.ADMIN, email="admin@example.com", name="Ada Admin")


@pytest.fixture
def manager(db):
    return UserFactory(role=Role.MANAGER, name="Mona Manager")


@pytest.fixture
def agent(db):
    return UserFactory(role=Role.AGENT, name="Aldo Agent")


@pytest.fixture
def other_agent(db):
    return UserFactory(role=Role.AGENT, name="Olga Other")


@pytest.fixture
def viewer(db):
    return UserFactory(role=Role.VIEWER, name="Vic Viewer")


@pytest.fixture
def admin_client(admin_user):
    return _client_for(admin_user)


@pytest.fixture
def manager_client(manager):
    return _client_for(manager)


@pytest.fixture
def agent_client(agent):
    return _client_for(agent)


@pytest.fixture
def viewer_client(viewer):
    return _client_for(viewer)


@pytest.fixture
def anon_client():
    return APIClient()
