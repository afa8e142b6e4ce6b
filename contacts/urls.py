from django.urls import include, path

from contacts.views import ContactViewSet
from crm.http.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("contacts", ContactViewSet, basename="contact")

urlpatterns = [path("", include(router.urls))]
