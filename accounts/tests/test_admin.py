from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role, User
from accounts.tests.factories import PASSWORD, UserFactory
from ledger.models import Activity

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")
ADD = reverse("admin:accounts_user_add")
STRONG = "a-Long-and-unusual-passphrase-7"


def change_url(user) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def password_url(user) -> str:
    return reverse("admin:accounts_user_password_change", args=[user.pk])


@pytest.fixture
def site(client, admin_user):
    client.force_login(admin_user)
    return client


def user_form(user, **changes) -> dict:
    data = {"name": user.name, "role": user.role, "is_active": "on" if user.is_active else ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_it_lists_searches_and_filters_users(site):
    UserFactory(email="mona@example.com", name="Mona Manager", role=Role.MANAGER)
    UserFactory(email="aldo@example.com", name="Aldo Agent")
    UserFactory(email="gone@example.com", name="Gone Agent", is_active=False)

    def emails(**params):
        return sorted(u.email for u in site.get(CHANGELIST, params).context["cl"].result_list)

    assert emails(q="mona") == ["mona@example.com"]
    assert emails(q="Agent") == ["aldo@example.com", "gone@example.com"]
    assert emails(role__exact="manager") == ["mona@example.com"]
    assert emails(is_active__exact="0") == ["gone@example.com"]


def test_the_changelist_runs_a_constant_number_of_queries(site, django_assert_num_queries):
    UserFactory.create_batch(3)
    # 1 session, 2 admin user, 3 COUNT of the filtered list, 4 COUNT of all users, 5 the page.
    with django_assert_num_queries(5):
        site.get(CHANGELIST)
    UserFactory.create_batch(6)
    with django_assert_num_queries(5):
        response = site.get(CHANGELIST)
    assert response.context["cl"].result_count == 10


def test_it_creates_a_user_through_the_service(site, admin_user):
    assert site.get(ADD).status_code == HTTPStatus.OK
    response = site.post(
        ADD,
        {
            "email": "New@Example.com",
            "name": "New Manager",
            "role": "manager",
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    user = User.objects.get(email="new@example.com")
    assert (user.name, user.role, user.is_staff, user.is_superuser) == (
        "New Manager",
        Role.MANAGER,
        True,  # managers work in the back office (accounts/roles.py)
        False,
    )
    assert user.check_password(STRONG)
    activity = Activity.objects.get(action="accounts.user.created")
    assert (activity.actor, activity.object_id) == (admin_user, str(user.pk))


def test_a_new_admin_gets_the_admin_flags(site):
    site.post(
        ADD,
        {
            "email": "boss@example.com",
            "name": "Boss",
            "role": "admin",
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    boss = User.objects.get(email="boss@example.com")
    assert (boss.is_staff, boss.is_superuser) == (True, True)


@pytest.mark.parametrize(
    ("password1", "password2", "field"),
    [
        ("12345678", "12345678", "password2"),  # too short, too common, all digits
        (STRONG, STRONG + "x", "password2"),
        ("new-example-user", "new-example-user", "password2"),  # too close to the email
    ],
)
def test_it_rejects_bad_passwords(site, password1, password2, field):
    response = site.post(
        ADD,
        {
            "email": "new-example-user@example.com",
            "name": "N",
            "role": "agent",
            "password1": password1,
            "password2": password2,
        },
    )
    assert response.status_code == HTTPStatus.OK
    assert field in response.context["adminform"].form.errors
    assert not User.objects.filter(email="new-example-user@example.com").exists()


def test_it_rejects_a_duplicate_email_case_insensitively(site):
    UserFactory(email="taken@example.com")
    response = site.post(
        ADD,
        {
            "email": "TAKEN@example.com",
            "name": "Dup",
            "role": "agent",
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    assert "email" in response.context["adminform"].form.errors
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_it_changes_a_role_through_the_service(site, admin_user):
    agent = UserFactory(name="Aldo")
    response = site.post(change_url(agent), user_form(agent, role="admin", name="Aldo A."))
    assert response.status_code == HTTPStatus.FOUND
    agent.refresh_from_db()
    assert (agent.role, agent.name, agent.is_staff) == (Role.ADMIN, "Aldo A.", True)
    activity = Activity.objects.get(action="accounts.user.role_changed")
    assert activity.actor == admin_user
    assert activity.changes == {"role": ["agent", "admin"], "name": ["Aldo", "Aldo A."]}


def test_deactivating_a_user_revokes_their_tokens(site):
    agent = UserFactory()
    refresh = RefreshToken.for_user(agent)
    response = site.post(change_url(agent), user_form(agent, is_active=""))
    assert response.status_code == HTTPStatus.FOUND
    agent.refresh_from_db()
    assert agent.is_active is False
    assert BlacklistedToken.objects.filter(token__jti=refresh["jti"]).exists()
    assert Activity.objects.filter(action="accounts.user.deactivated").exists()


def test_an_admin_cannot_lock_themself_out(site, admin_user):
    response = site.post(change_url(admin_user), user_form(admin_user, is_active="", role="agent"))
    assert response.status_code == HTTPStatus.OK
    assert set(response.context["adminform"].form.errors) == {"is_active", "role"}
    admin_user.refresh_from_db()
    assert (admin_user.is_active, admin_user.role) == (True, Role.ADMIN)


def test_the_change_page_links_to_the_password_page_without_the_hash(site):
    agent = UserFactory()
    html = site.get(change_url(agent)).content.decode()
    assert password_url(agent) in html
    assert agent.password not in html


def test_it_changes_a_password_through_the_service(site, admin_user):
    agent = UserFactory()
    refresh = RefreshToken.for_user(agent)
    assert site.get(password_url(agent)).status_code == HTTPStatus.OK
    response = site.post(password_url(agent), {"password1": STRONG, "password2": STRONG})
    assert response.status_code == HTTPStatus.FOUND
    agent.refresh_from_db()
    assert agent.check_password(STRONG)
    assert not agent.check_password(PASSWORD)
    assert BlacklistedToken.objects.filter(token__jti=refresh["jti"]).exists()
    activity = Activity.objects.get(action="accounts.user.updated", object_id=str(agent.pk))
    assert activity.actor == admin_user
    assert activity.changes == {"password": ["***", "***"]}


def test_it_rejects_a_weak_new_password(site):
    agent = UserFactory()
    response = site.post(password_url(agent), {"password1": "12345678", "password2": "12345678"})
    assert response.status_code == HTTPStatus.OK
    assert "password2" in response.context["form"].errors
    agent.refresh_from_db()
    assert agent.check_password(PASSWORD)


def test_an_admin_changing_their_own_password_stays_signed_in(site, admin_user):
    site.post(password_url(admin_user), {"password1": STRONG, "password2": STRONG})
    assert site.get(CHANGELIST).status_code == HTTPStatus.OK


def test_users_cannot_be_deleted(site):
    agent = UserFactory()
    response = site.get(reverse("admin:accounts_user_delete", args=[agent.pk]))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "delete_selected" not in site.get(CHANGELIST).content.decode()
    assert User.objects.filter(pk=agent.pk).exists()


@pytest.mark.parametrize("role", [Role.AGENT, Role.VIEWER])
def test_agents_and_viewers_stay_out_of_the_admin(client, role):
    client.force_login(UserFactory(role=role))
    response = client.get(CHANGELIST)
    assert response.status_code == HTTPStatus.FOUND
    assert reverse("admin:login") in response["Location"]


def test_managers_do_not_manage_users(client, manager):
    client.force_login(manager)  # in the back office, but users are the admins' (403)
    assert client.get(CHANGELIST).status_code == HTTPStatus.FORBIDDEN


def test_an_admin_can_sign_in_to_the_admin_with_their_email(client, admin_user):
    response = client.post(
        reverse("admin:login"),
        {"username": "ADMIN@example.com", "password": PASSWORD, "next": CHANGELIST},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert client.get(CHANGELIST).status_code == HTTPStatus.OK
