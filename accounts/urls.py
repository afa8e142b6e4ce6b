from django.urls import include, path, re_path

from accounts import views
from crm.http.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("users", views.UserViewSet, basename="user")
# Before syncaudit's "devices" router (crm/urls.py includes accounts first): its detail route
# would take "app-passwords" for a device id.
router.register("devices/app-passwords", views.AppPasswordViewSet, basename="app-password")

urlpatterns = [
    re_path(r"^auth/login/?$", views.LoginView.as_view(), name="auth-login"),
    re_path(r"^auth/refresh/?$", views.RefreshView.as_view(), name="auth-refresh"),
    re_path(r"^auth/logout/?$", views.LogoutView.as_view(), name="auth-logout"),
    re_path(r"^auth/me/?$", views.MeView.as_view(), name="auth-me"),
    path("", include(router.urls)),
]
