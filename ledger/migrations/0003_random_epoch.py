"""Cursor epochs become random 62-bit numbers (ledger.models.epoch_new): a reset never gives an
epoch that was used before. Feeds keep their current epoch until the next reset."""

from django.db import migrations, models

import ledger.models


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_ledger_tables")]

    operations = [
        migrations.AlterField(
            model_name="changefeed",
            name="epoch",
            field=models.BigIntegerField(default=ledger.models.epoch_new),
        )
    ]
