"""Sync bookkeeping in the back-office: all read-only. Devices and sync records are written by
the sync endpoint (the feeds and the activity log are the ledger's: ledger/admin.py)."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from crm.http.admin import ReadOnlyAdmin
from syncaudit.models import Device, SyncRecord
from syncaudit.selectors import version_key
from syncaudit.services import device_revoke


class NotSyncedForFilter(admin.SimpleListFilter):
    """Phones that have gone quiet (or never completed a sync)."""

    title = "not synced for"
    parameter_name = "not_synced_for"

    def lookups(self, request, model_admin):
        return (("1", "1 day"), ("7", "7 days"), ("30", "30 days"))

    def queryset(self, request, queryset):
        if self.value() not in ("1", "7", "30"):
            return queryset
        cutoff = timezone.now() - timedelta(days=int(self.value()))
        return queryset.filter(Q(last_sync_at__lt=cutoff) | Q(last_sync_at__isnull=True))


class AppVersionFilter(admin.SimpleListFilter):
    """Each app version seen, newest first, and "older than the latest seen": the phones that
    have not updated yet."""

    title = "app version"
    parameter_name = "app_version"
    OUTDATED = "outdated"

    def lookups(self, request, model_admin):
        versions = sorted(
            set(Device.objects.exclude(app_version="").values_list("app_version", flat=True)),
            key=version_key,
            reverse=True,
        )
        self.latest = versions[0] if versions else None
        if not versions:
            return ()
        return ((self.OUTDATED, f"Older than {self.latest}"), *((v, v) for v in versions))

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.OUTDATED:
            return queryset.exclude(app_version=self.latest) if self.latest else queryset
        if value:
            return queryset.filter(app_version=value)
        return queryset


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ("device_id", "agent", "app", "last_sync_at", "signed_out", "push")
    actions = ["sign_out"]

    @admin.action(description="Sign out the selected phones (lost or handed on)")
    def sign_out(self, request, queryset):
        """What DELETE /devices/{id} does: refresh tokens revoked, push endpoint dropped, the
        open event stream ended."""
        phones = [device for device in queryset if device.revoked_at is None]
        for device in phones:
            device_revoke(actor=request.user, device=device)
        self.message_user(request, f"{len(phones)} phone(s) signed out.")

    @admin.display(description="signed out", ordering="revoked_at")
    def signed_out(self, obj: Device):
        return obj.revoked_at or "-"

    @admin.display(description="web push", boolean=True)
    def push(self, obj: Device) -> bool:
        return hasattr(obj, "push")

    @admin.display(description="agent", ordering="user__name")
    def agent(self, obj: Device) -> str:
        return obj.user.name or obj.user.email

    @admin.display(description="app", ordering="app_version")
    def app(self, obj: Device) -> str:
        return " ".join(part for part in (obj.platform, obj.app_version) if part) or "-"

    list_select_related = ("user", "push")
    list_filter = (NotSyncedForFilter, AppVersionFilter, "platform")
    search_fields = ("device_id", "user__email", "user__name")


@admin.register(SyncRecord)
class SyncRecordAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "agent", "device_ref", "outcome", "summary", "took")

    @admin.display(description="agent", ordering="user__name")
    def agent(self, obj: SyncRecord) -> str:
        return obj.user.name or obj.user.email

    list_select_related = ("user",)
    list_filter = ("outcome", "user")
    date_hierarchy = "started_at"
    search_fields = ("device_ref", "user__email", "error_code")
    exclude = ("item_errors",)
    readonly_fields = ("refused_items",)
    show_full_result_count = False

    @admin.display(description="what happened")
    def summary(self, obj: SyncRecord) -> str:
        parts = [f"{obj.contacts_pushed + obj.calls_pushed} pushed",
                 f"{obj.changes_pulled} pulled"]  # fmt: skip
        if obj.contacts_conflict:
            parts.append(f"{obj.contacts_conflict} conflict(s)")
        if obj.contacts_error + obj.calls_error:
            parts.append(f"{obj.contacts_error + obj.calls_error} refused")
        return " · ".join(parts)

    @admin.display(description="took", ordering="duration_ms")
    def took(self, obj: SyncRecord) -> str:
        return (
            f"{obj.duration_ms} ms" if obj.duration_ms < 10_000 else f"{obj.duration_ms // 1000} s"
        )

    @admin.display(description="refused items")
    def refused_items(self, obj: SyncRecord):
        if not obj.item_errors:
            return "None."

        def why(errors: dict) -> str:
            return "; ".join(f"{field}: {' '.join(map(str, m))}" for field, m in errors.items())

        rows = format_html_join(
            "", "<tr><td>{} {}</td><td>{}</td><td>{}</td></tr>",
            ((e["kind"], e["index"], e.get("id", ""), why(e["errors"])) for e in obj.item_errors),
        )  # fmt: skip
        shown = len(obj.item_errors)
        more = obj.contacts_error + obj.calls_error - shown
        tail = format_html("<p>… and {} more.</p>", more) if more > 0 else ""
        return format_html(
            "<table><thead><tr><th>item</th><th>id</th><th>why</th></tr></thead>"
            "<tbody>{}</tbody></table>{}", rows, tail,
        )  # fmt: skip

    @admin.display(description="conflicts", ordering="contacts_conflict")
    def conflicts(self, obj: SyncRecord) -> int:
        return obj.contacts_conflict

    @admin.display(description="errors")
    def errors(self, obj: SyncRecord) -> int:
        return obj.contacts_error + obj.calls_error
