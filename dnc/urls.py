from django.urls import include, path, re_path

from crm.http.routers import OptionalSlashRouter
from dnc.views import DncCheckView, DncEntryViewSet, DncListViewSet

router = OptionalSlashRouter()
router.register("dnc/lists", DncListViewSet, basename="dnc-list")
router.register("dnc/entries", DncEntryViewSet, basename="dnc-entry")

urlpatterns = [
    re_path(r"^dnc/check/?$", DncCheckView.as_view(), name="dnc-check"),
    path("", include(router.urls)),
]
