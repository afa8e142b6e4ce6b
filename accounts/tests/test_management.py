import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Role, User

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_createsuperuser_works_non_interactively(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Boss@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-Long-and-unusual-passphrase-7")
    monkeypatch.setenv("DJANGO_SUPERUSER_NAME", "Boss")
    call_command("createsuperuser", interactive=False, verbosity=0)
    user = User.objects.get(email="boss@example.com")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.ADMIN, True, True)
    assert user.check_password("a-Long-and-unusual-passphrase-7")


def _run_manage(*args, **env):
    full_env = {**os.environ, **env}
    full_env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="x" * 30 + "-production-like-secret-key-with-entropy-9f8e7d",
        DJANGO_ALLOWED_HOSTS="crm.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _run_manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_a_misspelt_boolean_is_an_error():
    result = _run_manage("check", DJANGO_DEBUG="ture")
    assert result.returncode != 0
    assert "neither true nor false" in result.stderr


def test_sentry_is_off_by_default_and_on_with_a_dsn():
    probe = "import sentry_sdk; print(sentry_sdk.get_client().is_active())"
    off = _run_manage("shell", "-c", probe, SENTRY_DSN="")
    assert off.stdout.strip().splitlines()[-1] == "False", off.stderr
    on = _run_manage("shell", "-c", probe, SENTRY_DSN="https://public@sentry.invalid/1")
    assert on.stdout.strip().splitlines()[-1] == "True", on.stderr
