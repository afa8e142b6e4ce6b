"""PostgreSQL settings the project relies on to keep what it acknowledged.

An upload answered 201 must survive a power cut: that needs fsync and synchronous_commit on.
Production refuses to look ready (and `check --deploy --database default` fails) otherwise."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import connection

REQUIRED = {"fsync": "on", "synchronous_commit": ("on", "remote_write", "remote_apply")}


def durability_settings() -> dict[str, str]:
    """The current values of the settings durability depends on."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit')"
        )
        return dict(cursor.fetchall())


def durability_problems(values: dict[str, str]) -> list[str]:
    problems = []
    if values.get("fsync", "on") != "on":
        problems.append("fsync is off")
    if values.get("synchronous_commit", "on") not in REQUIRED["synchronous_commit"]:
        problems.append(f"synchronous_commit is {values['synchronous_commit']}")
    return problems


@register(Tags.database, deploy=True)
def check_durability(app_configs=None, databases=None, **kwargs):
    if not databases or not settings.REQUIRE_DURABLE_DATABASE:
        return []
    return [
        Error(f"PostgreSQL {problem}: acknowledged writes could be lost.", id="crm.E001")
        for problem in durability_problems(durability_settings())
    ]
