from django.urls import include, path, re_path

from calls.views import CallViewSet
from crm.http.routers import UUID_PATTERN, OptionalSlashRouter

router = OptionalSlashRouter()
router.register("calls", CallViewSet, basename="call")

# A contact's call history is served here, by the calls app, under the contact's path: the
# contacts app knows nothing of calls.
contact_calls = CallViewSet.as_view({"get": "for_contact"}, **CallViewSet.for_contact.kwargs)

urlpatterns = [
    re_path(
        rf"^contacts/(?P<contact_id>{UUID_PATTERN})/calls/?$", contact_calls, name="contact-calls"
    ),
    path("", include(router.urls)),
]
