from django.apps import AppConfig


class EventsConfig(AppConfig):
    """The edge to the outside world for real time: data-less pokes over Server-Sent Events
    (hub.py, views.py) and Web Push (push.py, tasks.py). It listens to the ledger's
    notifications; nothing below it knows it exists."""

    name = "events"
    verbose_name = "Real time"
    default_auto_field = "django.db.models.BigAutoField"
