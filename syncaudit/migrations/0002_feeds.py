from django.db import migrations


def create_feeds(apps, schema_editor):
    ChangeFeed = apps.get_model("syncaudit", "ChangeFeed")
    for name in ("contacts", "calls"):
        ChangeFeed.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("syncaudit", "0001_initial")]
    operations = [migrations.RunPython(create_feeds, migrations.RunPython.noop)]
