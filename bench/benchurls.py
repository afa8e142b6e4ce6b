"""The app's URLs plus ``/bench/pk/<uuid>``: a plain Django JsonResponse view doing one
primary-key query. It is the yardstick for the read endpoints (scenario 6): what this server,
this Django and this database answer when the view does (almost) nothing."""

from django.http import Http404, JsonResponse
from django.urls import path

from contacts.models import Contact
from crm.urls import handler400, handler403, handler404, handler500  # noqa: F401
from crm.urls import urlpatterns as app_urlpatterns


def contact_by_pk(request, pk):
    try:
        row = Contact.objects.values("id", "name", "phone_normalized", "version").get(pk=pk)
    except Contact.DoesNotExist:
        raise Http404 from None
    row["id"] = str(row["id"])
    return JsonResponse(row)


urlpatterns = [path("bench/pk/<uuid:pk>", contact_by_pk), *app_urlpatterns]
