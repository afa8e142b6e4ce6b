"""Trigram (pg_trgm) GIN indexes for typo-tolerant name search and phone-digit search."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS contact_name_trgm ON contacts_contact "
    "USING gin (name_search gin_trgm_ops) WHERE deleted_at IS NULL",
    "CREATE INDEX IF NOT EXISTS contact_phone_trgm ON contacts_contact "
    "USING gin (phone_normalized gin_trgm_ops) WHERE deleted_at IS NULL",
]
BACKWARD = ["DROP INDEX IF EXISTS contact_name_trgm", "DROP INDEX IF EXISTS contact_phone_trgm"]



class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
