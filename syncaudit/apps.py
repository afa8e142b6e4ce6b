from django.apps import AppConfig


class SyncauditConfig(AppConfig):
    name = "syncaudit"
    verbose_name = "Sync & audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # A login that names its phone finds (or creates) the phone's row here: accounts sits
        # below this app and only calls what is registered (accounts/devices.py).
        from accounts.devices import devices_provide
        from syncaudit.services import device_for_login

        devices_provide(device_for_login)
