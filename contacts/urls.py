from django.urls import include, path, re_path

from contacts.views import ContactFieldViewSet, ContactListViewSet, ContactViewSet, DncScrubView
from crm.http.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("contacts", ContactViewSet, basename="contact")
router.register("contact-fields", ContactFieldViewSet, basename="contact-field")
router.register("lists", ContactListViewSet, basename="list")

urlpatterns = [
    re_path(r"^dnc/scrub/?$", DncScrubView.as_view(), name="dnc-scrub"),
    path("", include(router.urls)),
]
