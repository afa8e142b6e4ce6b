from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from calls.services import CallLinker
        from ledger.numbers import numbers_listen

        numbers_listen(CallLinker())  # contacts created or renumbered gather their calls
