"""The back office's dashboard: how the team's calls, contacts, phones, syncs, imports and
do-not-call compliance went over a date range. Managers and admins (the admin's own login)."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from crm.text import duration_text
from dashboard import selectors
from dashboard.charts import bars, legend

CALL_PARTS = ("incoming", "outgoing", "missed", "other")


class RangeForm(forms.Form):
    days = forms.TypedChoiceField(
        choices=[(7, "7 days"), (14, "14 days"), (30, "30 days"), (90, "90 days")],
        coerce=int, required=False, initial=14,
    )  # fmt: skip


def _label(day) -> str:
    return f"{day:%d %b}"


def dashboard_view(request):
    form = RangeForm(request.GET or None)
    days = (form.cleaned_data.get("days") if form.is_valid() else None) or 14
    now = timezone.now()
    span = selectors.span_of(days=days, now=now)
    calls = selectors.calls_widget(span)  # query 1
    contacts = selectors.new_contacts_per_day(span)  # query 2
    devices = selectors.devices_to_look_at(now=now)  # query 3
    syncs = selectors.sync_health(span)  # query 4
    imports = selectors.imports_in_progress()  # query 5
    hits = selectors.dnc_hits(span)  # query 6
    agents = [
        {"email": email, "day": day, "talk": duration_text(day.talk_seconds),
         "missed_rate": day.missed_rate}
        for email, day in calls.by_agent.items()
    ]  # fmt: skip
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "TIME_ZONE": settings.TIME_ZONE,
        "form": form,
        "days": days,
        "span": span,
        "calls": calls,
        "agents": agents,
        "talk_total": duration_text(calls.total.talk_seconds),
        "calls_chart": bars(
            [
                (_label(d), tuple(getattr(v, p) for p in CALL_PARTS))
                for d, v in calls.by_day.items()
            ],
            parts=CALL_PARTS,
        ),
        "calls_legend": legend(CALL_PARTS),
        "contacts_chart": bars([(_label(d), n) for d, n in contacts.items()]),
        "contacts_total": sum(contacts.values()),
        "devices": devices,
        "syncs": syncs,
        "imports": imports,
        "hits": hits,
        "hits_chart": bars([(_label(d), n) for d, n in hits["per_day"].items()]),
    }
    return TemplateResponse(request, "admin/dashboard/index.html", context)
