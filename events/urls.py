from django.urls import re_path

from events import views

urlpatterns = [
    re_path(r"^events/?$", views.EventsView.as_view(), name="events"),
    re_path(r"^devices/push-key/?$", views.PushKeyView.as_view(), name="devices-push-key"),
]
