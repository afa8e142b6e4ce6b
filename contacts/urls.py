from django.urls import include, path

from contacts.views import ContactFieldViewSet, ContactListViewSet, ContactViewSet
from crm.http.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("contacts", ContactViewSet, basename="contact")
router.register("contact-fields", ContactFieldViewSet, basename="contact-field")
router.register("lists", ContactListViewSet, basename="list")

urlpatterns = [path("", include(router.urls))]
