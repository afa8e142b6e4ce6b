"""Search also matches email and company: their folded words in one column, trigram-indexed
like the name, filled in for the contacts that have either."""

from django.db import migrations, models

INDEX = (
    "CREATE INDEX IF NOT EXISTS contact_details_trgm ON contacts_contact "
    "USING gin (details_search gin_trgm_ops) WHERE deleted_at IS NULL"
)


def fill(apps, schema_editor):
    from contacts.text import details_search_key

    Contact = apps.get_model("contacts", "Contact")
    batch = []
    rows = (
        Contact.objects.exclude(email="", company="")
        .only("pk", "email", "company")
        .iterator(chunk_size=5000)
    )
    for contact in rows:
        contact.details_search = details_search_key(contact.email, contact.company)
        batch.append(contact)
        if len(batch) == 5000:
            Contact.objects.bulk_update(batch, ["details_search"])
            batch = []
    Contact.objects.bulk_update(batch, ["details_search"])


class Migration(migrations.Migration):
    dependencies = [("contacts", "0006_crm_model")]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="details_search",
            field=models.CharField(db_default="", default="", editable=False, max_length=460),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunSQL(INDEX, "DROP INDEX IF EXISTS contact_details_trgm"),
    ]
