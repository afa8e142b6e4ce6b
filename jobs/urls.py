from django.urls import include, path

from crm.http.routers import OptionalSlashRouter
from jobs.views import ImportJobViewSet

router = OptionalSlashRouter()
router.register("imports", ImportJobViewSet, basename="import")

urlpatterns = [path("", include(router.urls))]
