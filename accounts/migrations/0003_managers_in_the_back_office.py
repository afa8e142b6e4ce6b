"""Managers sign in to the back office (accounts/roles.py): their is_staff follows."""

from django.db import migrations


def managers_are_staff(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.filter(role="manager").update(is_staff=True)


def managers_are_not_staff(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.filter(role="manager").update(is_staff=False)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_cache_table")]

    operations = [migrations.RunPython(managers_are_staff, managers_are_not_staff)]
