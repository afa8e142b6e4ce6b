"""ChangeFeed and Activity now belong to the ledger app (ledger 0001 takes them over)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("syncaudit", "0002_feeds"), ("ledger", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ChangeFeed"),
                migrations.DeleteModel(name="Activity"),
            ],
            database_operations=[],
        )
    ]
