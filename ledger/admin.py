"""The ledger in the back-office: read-only. Feeds are moved by writers and the operator
commands, the activity log by the services."""

from django.contrib import admin

from crm.http.admin import ReadOnlyAdmin
from ledger.activity import activity_label
from ledger.models import Activity, ChangeFeed


@admin.register(ChangeFeed)
class ChangeFeedAdmin(ReadOnlyAdmin):
    """The sync machinery's counters: reachable, but not on the index among the business."""

    list_display = ("name", "version", "epoch", "purged_through", "purged_at")

    def has_module_permission(self, request):
        return False


class ActionFilter(admin.SimpleListFilter):
    title = "what happened"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        actions = Activity.objects.order_by().values_list("action", flat=True).distinct()
        return sorted(((a, activity_label(a)) for a in actions), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "what", "object_repr")
    list_select_related = ("actor",)
    list_filter = (ActionFilter, "object_type")
    search_fields = ("object_repr", "object_id")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="what happened", ordering="action")
    def what(self, entry: Activity) -> str:
        return activity_label(entry.action)

    def lookup_allowed(self, lookup, value, request=None):
        # A record's history is linked as ?object_id=<id> (its page's "History" button).
        return lookup in ("object_id", "object_type") or super().lookup_allowed(
            lookup, value, request
        )
