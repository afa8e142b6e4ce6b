"""The change feeds and the activity log move here from syncaudit, rows and all.

The tables exist already (syncaudit 0001): this migration only takes the models into the
ledger's state, and 0002 renames the tables. Nothing is copied."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("syncaudit", "0002_feeds"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ChangeFeed",
                    fields=[
                        ("name", models.CharField(max_length=32, primary_key=True, serialize=False)),
                        ("version", models.BigIntegerField(default=0)),
                        ("epoch", models.PositiveIntegerField(default=1)),
                        (
                            "purged_through",
                            models.BigIntegerField(
                                default=0,
                                help_text="Tombstones with a version up to this one have been purged.",
                            ),
                        ),
                        ("purged_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={"db_table": "syncaudit_changefeed"},
                ),
                migrations.CreateModel(
                    name="Activity",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("action", models.CharField(db_index=True, max_length=64)),
                        ("object_type", models.CharField(max_length=32)),
                        ("object_id", models.CharField(blank=True, max_length=64)),
                        ("object_repr", models.CharField(blank=True, max_length=200)),
                        ("changes", models.JSONField(blank=True, default=dict)),
                        (
                            "created_at",
                            models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                        ),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "syncaudit_activity",
                        "verbose_name_plural": "activities",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["object_type", "object_id", "-created_at"],
                                name="syncaudit_a_object__e2ebe9_idx",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        )
    ]
