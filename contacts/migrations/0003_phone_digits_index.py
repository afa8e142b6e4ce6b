"""Move the phone-digits trigram index off the bare column.

A GIN trigram index on phone_normalized also serves equality, and with a long
`phone_normalized IN (...)` list (an import batch) PostgreSQL preferred it to the unique
btree — minutes instead of milliseconds per batch. Indexing the digits as an expression
(substring from the second character, i.e. without the "+") keeps digit search fast and
leaves equality to the btree."""

from django.db import migrations

FORWARD = [
    "DROP INDEX IF EXISTS contact_phone_trgm",
    "CREATE INDEX IF NOT EXISTS contact_phone_digits_trgm ON contacts_contact "
    "USING gin ((substring(phone_normalized, 2)) gin_trgm_ops) WHERE deleted_at IS NULL",
]
BACKWARD = [
    "DROP INDEX IF EXISTS contact_phone_digits_trgm",
    "CREATE INDEX IF NOT EXISTS contact_phone_trgm ON contacts_contact "
    "USING gin (phone_normalized gin_trgm_ops) WHERE deleted_at IS NULL",
]



class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_search_indexes")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
