"""Search by word prefixes (issue 18): the words of every live contact, and the vocabulary the
typo fallback compares with, filled in for the contacts there are."""

import django.contrib.postgres.indexes
import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    from contacts.text import search_words

    connection = schema_editor.connection
    with connection.cursor() as read:
        read.execute(
            "SELECT id, name_search, details_search FROM contacts_contact "
            "WHERE deleted_at IS NULL"
        )
        while batch := read.fetchmany(5000):
            rows = [(pk, word, name) for pk, name, details in batch
                    for word in search_words(name, details)]  # fmt: skip
            with connection.cursor() as write:
                write.executemany(
                    "INSERT INTO contacts_contactword (contact_id, word, name_search) "
                    "VALUES (%s, %s, %s)",
                    rows,
                )
    with connection.cursor() as write:
        write.execute(
            "INSERT INTO contacts_searchword (word) SELECT DISTINCT word "
            "FROM contacts_contactword ON CONFLICT DO NOTHING"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0007_details_search'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchWord',
            fields=[
                ('word', models.TextField(db_collation='C', primary_key=True, serialize=False)),
            ],
            options={
                'indexes': [django.contrib.postgres.indexes.GistIndex(fields=['word'], name='searchword_trgm_idx', opclasses=['gist_trgm_ops'])],
            },
        ),
        migrations.CreateModel(
            name='ContactWord',
            fields=[
                ('pk', models.CompositePrimaryKey('contact_id', 'word', blank=True, editable=False, primary_key=True, serialize=False)),
                ('word', models.TextField(db_collation='C')),
                ('name_search', models.CharField(max_length=200)),
                ('contact', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='contacts.contact')),
            ],
            options={
                'indexes': [models.Index(fields=['word', 'name_search', 'contact'], name='contactword_prefix_idx')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
