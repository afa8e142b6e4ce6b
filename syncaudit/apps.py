from django.apps import AppConfig


class SyncauditConfig(AppConfig):
    name = "syncaudit"
    verbose_name = "Sync & audit"
    default_auto_field = "django.db.models.BigAutoField"
