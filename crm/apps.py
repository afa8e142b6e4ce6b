from django.apps import AppConfig


class CrmConfig(AppConfig):
    """The project package as an app: operations commands (backup, restore) and checks."""

    name = "crm"
    verbose_name = "CRM operations"

    def ready(self):
        from crm.db import durability  # noqa: F401 - registers the deploy check
