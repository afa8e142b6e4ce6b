from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from crm import views

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("dnc.urls")),
    path("", include("contacts.urls")),
    path("", include("calls.urls")),
    path("", include("syncaudit.urls")),
    path("", include("jobs.urls")),
    path("", include("events.urls")),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("api/v1/", include(api_v1)),
    # Any other path under /api/ is a 404 in the error shape, in every mode (with DEBUG on,
    # Django would answer its HTML debug page instead of calling handler404).
    re_path(r"^api/", views.api_not_found),
    path("admin/dashboard/", include("dashboard.urls")),
    # CardDAV for stock phone apps (DAVx5): /dav/ and /.well-known/carddav (docs/CARDDAV.md).
    path("", include("carddav.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "crm.http.errors.handler400"
handler403 = "crm.http.errors.handler403"
handler404 = "crm.http.errors.handler404"
handler500 = "crm.http.errors.handler500"

admin.site.site_header = "Contacts CRM back-office"
admin.site.site_title = "Contacts CRM"
admin.site.enable_nav_sidebar = False  # the lists need the width (1400 px screens)
admin.site.site_url = None  # the back office is the site: no "View site" link to a bare page
