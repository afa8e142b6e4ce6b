from django.urls import include, path, re_path

from crm.http.routers import OptionalSlashRouter
from syncaudit import views

router = OptionalSlashRouter()
router.register("devices", views.DeviceViewSet, basename="device")
router.register("sync/audit", views.SyncRecordViewSet, basename="sync-audit")

urlpatterns = [
    re_path(r"^sync/contacts/?$", views.ContactFeedView.as_view(), name="sync-contacts"),
    re_path(r"^sync/calls/?$", views.CallFeedView.as_view(), name="sync-calls"),
    re_path(r"^sync/lists/?$", views.ListFeedView.as_view(), name="sync-lists"),
    re_path(r"^sync/dnc/?$", views.DncFeedView.as_view(), name="sync-dnc"),
    re_path(r"^sync/?$", views.SyncView.as_view(), name="sync"),
    path("", include(router.urls)),
]
