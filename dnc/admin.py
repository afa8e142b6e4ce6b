"""Do-not-call lists and entries in the back office. Writes go through dnc.services (versions
for the phones' feed, history); entries are found by a number typed in any format; a CSV of
numbers can be added to a list from the list's page."""

import csv
import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from crm.phones import InvalidPhone, phone_normalize
from crm.timestamps import timestamp_parse
from dnc.errors import DncBatchInvalid, DncInvalid
from dnc.models import DncEntry, DncList
from dnc.selectors import dnc_entry_counts
from dnc.services import (
    BATCH_MAX,
    DncEntryInput,
    dnc_entries_add,
    dnc_entry_delete,
    dnc_list_create,
    dnc_list_delete,
    dnc_list_update,
)

IMPORT_MAX_BYTES = 20 * 1024 * 1024  # at once; files of many rows become import jobs


def _managers(request) -> bool:
    return request.user.is_active and request.user.is_manager_or_admin


class _ManagersOnly:
    def has_view_permission(self, request, obj=None):
        return _managers(request)

    def has_add_permission(self, request):
        return _managers(request)

    def has_change_permission(self, request, obj=None):
        return _managers(request)

    def has_delete_permission(self, request, obj=None):
        return _managers(request)


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header: phone, and optionally reason, source, "
                           "notes, expires_at (ISO 8601 with a timezone).")  # fmt: skip


@admin.register(DncList)
class DncListAdmin(_ManagersOnly, admin.ModelAdmin):
    list_display = ("name", "type", "active", "entries", "source", "updated_at")
    list_filter = ("type", "active")
    search_fields = ("name",)
    fields = ("name", "type", "description", "source", "active")
    readonly_fields = ("add_numbers",)

    def get_fields(self, request, obj=None):
        return (*self.fields, "add_numbers") if obj is not None else self.fields

    @admin.display(description="numbers")
    def add_numbers(self, obj):
        url = reverse("admin:dnc_dnclist_import", args=[obj.pk])
        return format_html('<a href="{}">Add numbers from a CSV file</a>', url)

    def get_queryset(self, request):
        return DncList.objects.filter(deleted_at__isnull=True)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        ids = [x.pk for x in changelist.result_list]
        self._counts = dnc_entry_counts(ids, now=timezone.now())  # one query for the page
        return changelist

    @admin.display(description="numbers blocked")
    def entries(self, obj):
        return self._counts.get(obj.pk, 0)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in self.fields}
        try:
            if change:
                saved = dnc_list_update(actor=request.user, dnc_list=obj, **data)
            else:
                saved = dnc_list_create(actor=request.user, **data)
        except DncInvalid as exc:
            raise ValidationError(str(exc.detail)) from None
        obj.pk, obj._state.adding = saved.pk, False

    def delete_model(self, request, obj):
        dnc_list_delete(actor=request.user, dnc_list=obj)

    def delete_queryset(self, request, queryset):
        for dnc_list in queryset:
            dnc_list_delete(actor=request.user, dnc_list=dnc_list)

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("<uuid:pk>/import/", view, name="dnc_dnclist_import"), *super().get_urls()]

    def import_view(self, request, pk):
        dnc_list = self.get_object(request, str(pk))
        if dnc_list is None or not _managers(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            done = self._import(request, dnc_list, form.cleaned_data["file"])
            if done:
                return HttpResponseRedirect(reverse("admin:dnc_dnclist_change", args=[pk]))
        return TemplateResponse(request, "admin/dnc/dnclist/import.html", {
            **self.admin_site.each_context(request), "form": form, "dnc_list": dnc_list,
            "opts": self.model._meta, "title": f"Add numbers to {dnc_list}",
        })  # fmt: skip

    def _import(self, request, dnc_list, upload) -> bool:
        """Every row or none (batches of 5,000, one transaction)."""
        if upload.size > IMPORT_MAX_BYTES:
            self.message_user(request, "The file is too large to add at once; import it as "
                              "a job (Background jobs > Import jobs).", messages.ERROR)  # fmt: skip
            return False
        text = upload.read().decode("utf-8-sig", errors="replace")
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows or "phone" not in {(k or "").strip().lower() for k in rows[0]}:
            self.message_user(request, "The file needs a header row with a phone column.",
                              messages.ERROR)  # fmt: skip
            return False
        items, problems = [], []
        for number, row in enumerate(rows, 2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            try:
                expires = timestamp_parse(row["expires_at"]) if row.get("expires_at") else None
            except ValueError as exc:
                problems.append(f"row {number}: expires_at: {exc}")
                continue
            items.append(DncEntryInput(list=dnc_list.pk, phone=row.get("phone", ""),
                                       reason=row.get("reason"), source=row.get("source"),
                                       notes=row.get("notes"), expires_at=expires))  # fmt: skip
        created = existing = 0
        try:
            with transaction.atomic():
                if problems:
                    raise DncBatchInvalid({})
                for start in range(0, len(items), BATCH_MAX):
                    batch = items[start : start + BATCH_MAX]
                    for _, new in dnc_entries_add(actor=request.user, items=batch):
                        created, existing = created + new, existing + (not new)
        except DncBatchInvalid as exc:
            for index, errors in list(exc.errors.items())[:20]:
                problems.append(f"row {index + 2}: {errors}")
            self.message_user(request, "Nothing was added: " + "; ".join(problems[:20]),
                              messages.ERROR)  # fmt: skip
            return False
        self.message_user(request, f"{created} number(s) added, {existing} already on the list.",
                          messages.SUCCESS)  # fmt: skip
        return True


class EntryForm(forms.ModelForm):
    class Meta:
        model = DncEntry
        fields = ("list", "phone", "reason", "source", "notes", "expires_at")

    def clean_phone(self):
        try:
            phone_normalize(self.cleaned_data["phone"])
        except InvalidPhone as exc:
            raise ValidationError(str(exc)) from None
        return self.cleaned_data["phone"].strip()


@admin.register(DncEntry)
class DncEntryAdmin(_ManagersOnly, admin.ModelAdmin):
    form = EntryForm
    list_display = ("phone_normalized", "list", "reason", "expires_at", "created_at", "served")
    list_filter = ("list", "expired")
    list_select_related = ("list",)
    search_fields = ("phone_normalized", "reason")
    search_help_text = "A number in any format, or words of the reason."
    list_per_page = 100
    show_full_result_count = False

    def get_queryset(self, request):
        return DncEntry.objects.filter(deleted_at__isnull=True)

    @admin.display(description="blocks now", boolean=True)
    def served(self, obj):
        return (
            obj.list.active
            and not obj.expired
            and (obj.expires_at is None or obj.expires_at > timezone.now())
        )

    def get_search_results(self, request, queryset, search_term):
        try:
            return queryset.filter(phone_normalized=phone_normalize(search_term)), False
        except InvalidPhone:
            return super().get_search_results(request, queryset, search_term)

    def has_change_permission(self, request, obj=None):
        return obj is None and _managers(request)  # entries are added or removed, not edited

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            ((saved, _),) = dnc_entries_add(actor=request.user, items=[DncEntryInput(
                list=data["list"].pk, phone=data["phone"], reason=data["reason"],
                source=data["source"], notes=data["notes"], expires_at=data["expires_at"],
            )])  # fmt: skip
        except DncBatchInvalid as exc:
            raise ValidationError(str(exc.errors[0])) from None
        obj.pk, obj._state.adding = saved.pk, False

    def delete_model(self, request, obj):
        dnc_entry_delete(actor=request.user, entry=obj)

    def delete_queryset(self, request, queryset):
        for entry in queryset:
            dnc_entry_delete(actor=request.user, entry=entry)
