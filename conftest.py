"""Fixtures shared by every app's tests. Tests run on PostgreSQL (make test)."""

import django.test.client
import pytest
import rest_framework.test
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from accounts.tests.factories import UserFactory
from crm.http.pagination import counts, estimates
from crm.tests.asgi_bridge import AsgiClientHandler

# Every test client request takes Django's ASGI path, as production's requests do (the
# production server is ASGI): crm/tests/asgi_bridge.py. Both clients look their handler class
# up when they are made.
rest_framework.test.ForceAuthClientHandler = AsgiClientHandler
django.test.client.ClientHandler = AsgiClientHandler


def _uses_db(request) -> bool:
    names = set(request.fixturenames)
    return bool(request.node.get_closest_marker("django_db")) or bool(
        names & {"db", "transactional_db"}
    )


@pytest.fixture(autouse=True)
def _fast_and_isolated(request, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"  # uploaded import files: the test's own folder
    settings.EVENTS_MAX_STREAM_SECONDS = 0.05  # an event stream read by a test client ends
    uses_db = _uses_db(request)
    if uses_db:
        marker = request.node.get_closest_marker("django_db")
        transactional = "transactional_db" in request.fixturenames or (
            marker is not None and marker.kwargs.get("transaction")
        )
        request.getfixturevalue("transactional_db" if transactional else "db")
        cache.clear()  # the login throttles live in the (database) cache
        estimates.clear()  # planner estimates of another test's tables
        counts.clear()  # counts under versions that another test's rollback reissues
    yield
    if uses_db:
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
