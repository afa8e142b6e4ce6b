from django.apps import AppConfig


class LedgerConfig(AppConfig):
    """The bottom of the house: the change counter behind every sync feed and the activity
    log. It imports no domain app; every writer (accounts, contacts, calls, sync) calls it."""

    name = "ledger"
    verbose_name = "Ledger"
