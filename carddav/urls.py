from django.urls import re_path

from carddav import views

urlpatterns = [
    re_path(r"^\.well-known/carddav/?$", views.well_known, name="carddav-well-known"),
    re_path(r"^dav/(?P<path>.*)$", views.dav, name="carddav"),
]
