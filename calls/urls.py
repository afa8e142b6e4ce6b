from django.urls import include, path

from calls.views import CallViewSet
from crm.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("calls", CallViewSet, basename="call")

urlpatterns = [path("", include(router.urls))]
