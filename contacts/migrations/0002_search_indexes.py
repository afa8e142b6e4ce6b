"""Trigram (pg_trgm) GIN indexes for typo-tolerant name search and phone-digit search.

PostgreSQL only: on SQLite (the zero-setup default) search is a plain substring scan."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS contact_name_trgm ON contacts_contact "
    "USING gin (name_search gin_trgm_ops) WHERE deleted_at IS NULL",
    "CREATE INDEX IF NOT EXISTS contact_phone_trgm ON contacts_contact "
    "USING gin (phone_normalized gin_trgm_ops) WHERE deleted_at IS NULL",
]
BACKWARD = ["DROP INDEX IF EXISTS contact_name_trgm", "DROP INDEX IF EXISTS contact_phone_trgm"]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]
    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
