"""The moved tables take the ledger's names (renames: rows, indexes and sequences stay)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial"), ("syncaudit", "0003_ledger_moved_out")]

    operations = [
        migrations.AlterModelTable(name="changefeed", table=None),
        migrations.AlterModelTable(name="activity", table=None),
        migrations.RenameIndex(
            model_name="activity",
            new_name="activity_object_idx",
            old_name="syncaudit_a_object__e2ebe9_idx",
        ),
    ]
