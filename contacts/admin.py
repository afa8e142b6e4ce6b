"""The shared contact book in the back-office.

Every write goes through contacts.services, like the API's: adding runs the older-wins rule,
editing takes a new version and relinks calls, deleting leaves a tombstone for the phones' sync.
"""

import uuid
from types import SimpleNamespace

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max, OuterRef, Subquery
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX

from contacts.bulk import BulkRefused, bulk_run, bulk_undo
from contacts.custom_fields import (
    KEY_PATTERN,
    custom_field_create,
    custom_field_deactivate,
    custom_field_problems,
    custom_field_update,
)
from contacts.errors import ContactGone, ContactInvalid, DuplicatePhone, VersionConflict
from contacts.lists import NAME_TAKEN, list_create, list_delete, list_name_taken, list_update
from contacts.models import BulkOperation, Contact, ContactField, ContactList, ListMembership
from contacts.resources import ContactResource, template_csv
from contacts.selectors import (
    EXPORT_HEADER,
    contact_export_cells,
    contact_export_rows,
    contact_search,
    contact_stats_by_tag,
    list_counts,
    list_list,
)
from contacts.services import (
    DETAILS,
    ContactInput,
    Result,
    contact_clean_created_at,
    contact_clean_details,
    contact_clean_name,
    contact_clean_tags,
    contact_create,
    contact_delete,
    contact_restore,
    contact_update,
    tags_key,
)
from crm.http.admin import ReadOnlyAdmin, StreamedExportMixin
from crm.memory import gc_paused
from crm.phones import InvalidPhone, phone_display, phone_normalize
from crm.text import duration_text
from ledger.activity import activity_label
from ledger.selectors import activity_for_object

RECENT_CALLS = 20
HISTORY_ROWS = 50


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


class DeletedFilter(admin.SimpleListFilter):
    """Deleted contacts are tombstones kept for the phones' sync; the list hides them unless
    asked, so the default is "No" rather than Django's "All"."""

    title = "deleted"
    parameter_name = "deleted"
    _choices = (("no", "No"), ("yes", "Yes"), ("all", "All"))

    def lookups(self, request, model_admin):
        return self._choices

    def choices(self, changelist):
        current = self.value() or "no"
        for value, label in self._choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or "no"
        if value == "no":
            return queryset.filter(deleted_at__isnull=True)
        if value == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class TagFilter(admin.SimpleListFilter):
    """The most used tags (stats' breakdown), matched without regard to case (GIN index)."""

    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        by_tag = contact_stats_by_tag(limit=30)
        return [(tag, f"{tag} ({count})") for tag, count in by_tag.items()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(tags_key__contains=tags_key([self.value()]))
        return queryset


class ListFilter(admin.SimpleListFilter):
    title = "list"
    parameter_name = "list"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in list_list().values_list("pk", "name")]

    def queryset(self, request, queryset):
        if self.value():
            try:
                return queryset.filter(lists__contains=[uuid.UUID(self.value())])
            except ValueError:
                return queryset.none()
        return queryset


class TagsForm(forms.Form):
    tags = forms.CharField(help_text="Comma-separated, e.g. VIP, Fair 2026.", max_length=2600)

    def data_for_bulk(self) -> dict:
        return {"tags": [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]}


class ListForm(forms.Form):
    list = forms.ModelChoiceField(queryset=ContactList.live.all())

    def data_for_bulk(self) -> dict:
        return {"list": str(self.cleaned_data["list"].pk)}


class OwnerForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True))

    def data_for_bulk(self) -> dict:
        return {"owner": str(self.cleaned_data["owner"].pk)}


class ContactAdminForm(forms.ModelForm):
    """Field checks call the services' own validators, so the admin shows the same messages
    as the API next to the field; the service validates again when it writes."""

    # The version the editor saw: a save over someone else's newer edit is refused.
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Contact
        fields = ("name", "phone", *DETAILS, "tags", "custom_fields", "created_at", "created_by")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "created_at" in self.fields:
            self.fields["created_at"].required = False
            self.fields["created_at"].help_text = (
                "When the contact was first saved; leave empty for now. The older record wins "
                "when a contact with this number already exists."
            )
        if "created_by" in self.fields:
            self.fields["created_by"].required = False
            self.fields["created_by"].help_text = "Leave empty for yourself."
        if self.instance.pk is not None:
            self.fields["base_version"].initial = self.instance.version
        if "custom_fields" in self.fields:
            self.fields["custom_fields"].required = False
            self.fields[
                "custom_fields"
            ].help_text = "Custom field key -> value, as defined under Custom fields."

    def clean(self):
        data = super().clean()
        given = {name: data[name] for name in DETAILS if data.get(name) is not None}
        errors: dict[str, list[str]] = {}
        data.update(contact_clean_details(SimpleNamespace(**given), errors))
        if data.get("tags") is not None:
            try:
                data["tags"] = contact_clean_tags(data["tags"])
            except ValueError as exc:
                errors["tags"] = [str(exc)]
        for name, problems in errors.items():
            self.add_error(name, problems)
        return data

    def clean_name(self):
        try:
            return contact_clean_name(self.cleaned_data["name"])
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def clean_phone(self):
        phone = self.cleaned_data["phone"]
        try:
            phone_normalize(phone)
        except InvalidPhone as exc:
            raise ValidationError(str(exc)) from None
        return phone.strip()

    def clean_created_at(self):
        value = self.cleaned_data.get("created_at")
        if value is None:
            return None
        try:
            return contact_clean_created_at(value, now=timezone.now())
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def _adopt(obj: Contact, saved: Contact) -> None:
    """The admin keeps hold of the object its form built; make it the row the service saved
    (for an add that resolved to an existing contact, that is another row)."""
    for model_field in Contact._meta.concrete_fields:
        setattr(obj, model_field.attname, getattr(saved, model_field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db
    obj._state.fields_cache = dict(saved._state.fields_cache)


@admin.register(Contact)
class ContactAdmin(StreamedExportMixin, ImportExportModelAdmin):
    form = ContactAdminForm
    resource_classes = [ContactResource]
    import_formats = [CSV, XLSX]
    export_formats = [CSV, XLSX]
    export_filename = "contacts"
    export_header = EXPORT_HEADER
    import_template_name = "admin/contacts/contact/import.html"
    import_export_change_list_template = "admin/contacts/contact/change_list_import_export.html"
    change_form_template = "admin/contacts/contact/change_form.html"
    delete_confirmation_template = "admin/contacts/contact/delete_confirmation.html"
    delete_selected_confirmation_template = (
        "admin/contacts/contact/delete_selected_confirmation.html"
    )
    # Imports are recorded in the activity log by contacts_upsert (one row per contact);
    # a second copy in Django's LogEntry table would only double the write.
    skip_admin_log = True

    list_display = ("name", "number", "tag_list", "list_names", "creator", "last_call", "calls")
    list_select_related = ("created_by",)
    list_filter = (
        DeletedFilter, TagFilter, ListFilter, "created_by",
        ("created_at", admin.DateFieldListFilter),
    )  # fmt: skip
    actions = ["add_tags", "remove_tags", "add_to_list", "remove_from_list", "set_owner"]
    search_fields = ("name", "phone", "phone_normalized", "email", "company")
    search_help_text = (
        "Name, email or company (accents and case do not matter), or a phone number in any "
        "format (its digits are matched)."
    )
    autocomplete_fields = ("created_by",)
    list_per_page = 100

    # --- lists and pages ---------------------------------------------------------------

    def get_queryset(self, request):
        # All rows, tombstones included (DeletedFilter hides them by default); the list page
        # also counts each row's calls (two index probes a row, on the calls' contact index).
        queryset = Contact.objects.select_related("created_by")
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "contacts_contact_changelist":
            # Through the reverse relation calls declare (contacts import nothing of them).
            call_model = Contact._meta.get_field("calls").related_model
            calls = call_model.objects.filter(contact=OuterRef("pk")).order_by()
            queryset = queryset.annotate(
                call_count=Subquery(calls.values("contact").annotate(n=Count("id")).values("n")),
                last_call_at=Subquery(calls.order_by("-started_at").values("started_at")[:1]),
            )
        return queryset

    def changelist_view(self, request, extra_context=None):
        self._list_names = dict(ContactList.live.values_list("pk", "name"))  # one query a page
        return super().changelist_view(request, extra_context)

    @admin.display(description="number", ordering="phone_normalized")
    def number(self, obj: Contact) -> str:
        return phone_display(obj.phone_normalized)

    @admin.display(description="last call", ordering="last_call_at")
    def last_call(self, obj: Contact):
        return getattr(obj, "last_call_at", None) or "-"

    @admin.display(description="calls", ordering="call_count")
    def calls(self, obj: Contact) -> int:
        return getattr(obj, "call_count", None) or 0

    @admin.display(description="owner", ordering="created_by__name")
    def creator(self, obj: Contact) -> str:
        return obj.created_by.name or obj.created_by.email

    @admin.display(description="tags")
    def tag_list(self, obj: Contact) -> str:
        return ", ".join(obj.tags)

    @admin.display(description="lists")
    def list_names(self, obj: Contact) -> str:
        names = getattr(self, "_list_names", None)
        if names is None:
            names = dict(ContactList.live.filter(pk__in=obj.lists).values_list("pk", "name"))
        return ", ".join(sorted(names[pk] for pk in obj.lists if pk in names)) or "-"

    # --- bulk actions: the API's bulk operations, on the rows ticked ----------------------

    def _bulk(self, request, queryset, action: str, form_class, title: str):
        """An intermediate page asks for the action's argument, then the bulk operation runs
        on the contacts ticked (an undo is one click away under Bulk operations)."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            ids = list(queryset.filter(deleted_at__isnull=True).values_list("pk", flat=True))
            try:
                operation = bulk_run(
                    actor=request.user, action=action, contact_ids=ids, data=form.data_for_bulk()
                )
            except BulkRefused as exc:
                self.message_user(request, f"Nothing changed: {exc.detail}", messages.ERROR)
                return None
            url = reverse("admin:contacts_bulkoperation_change", args=[operation.pk])
            self.message_user(
                request,
                format_html(
                    '{} of {} contact(s) done, {} failed. <a href="{}">Undo is here.</a>',
                    operation.succeeded,
                    operation.processed,
                    operation.failed,
                    url,
                ),
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/contacts/contact/bulk_action.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "form": form,
                "action": action,
                "queryset": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Add tags to the selected contacts", permissions=["bulk"])
    def add_tags(self, request, queryset):
        return self._bulk(request, queryset, "add_tags", TagsForm, "Add tags")

    @admin.action(description="Remove tags from the selected contacts", permissions=["bulk"])
    def remove_tags(self, request, queryset):
        return self._bulk(request, queryset, "remove_tags", TagsForm, "Remove tags")

    @admin.action(description="Add the selected contacts to a list", permissions=["bulk"])
    def add_to_list(self, request, queryset):
        return self._bulk(request, queryset, "add_to_list", ListForm, "Add to a list")

    @admin.action(description="Remove the selected contacts from a list", permissions=["bulk"])
    def remove_from_list(self, request, queryset):
        return self._bulk(request, queryset, "remove_from_list", ListForm, "Remove from a list")

    @admin.action(description="Set the owner of the selected contacts", permissions=["bulk"])
    def set_owner(self, request, queryset):
        return self._bulk(request, queryset, "set_owner", OwnerForm, "Set the owner")

    def has_bulk_permission(self, request):
        return request.user.is_manager_or_admin

    @admin.display(description="deleted", boolean=True, ordering="deleted_at")
    def deleted(self, obj: Contact) -> bool:
        return obj.deleted_at is not None

    def get_search_results(self, request, queryset, search_term):
        """The API's search (contacts.selectors.contact_search): name, email and company
        without regard to accents or case ("goncalves" finds "Gonçalves"), and the digits of
        a number typed in any format ("(202) 555-0101" finds +12025550101)."""
        if not search_term.strip():
            return queryset, False
        return contact_search(queryset, search_term), False

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            fields = ("name", "phone", *DETAILS, "tags", "custom_fields", "created_at",
                      "created_by")  # fmt: skip
            return ((None, {"fields": fields}),)
        return (
            (None, {"fields": ("name", "phone", "phone_normalized", "base_version")}),
            ("Details", {"fields": (*DETAILS, "tags", "custom_fields", "list_names")}),
            (
                "Record",
                {"fields": ("created_by", "created_at", "updated_at", "version", "deleted_at")},
            ),
            ("Calls", {"fields": ("calls_summary", "recent_calls")}),
            ("History", {"fields": ("history",)}),
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "phone_normalized",
            "created_by",
            "created_at",
            "updated_at",
            "version",
            "deleted_at",
            "list_names",
            "calls_summary",
            "recent_calls",
            "history",
        )

    @admin.display(description="calls")
    def calls_summary(self, obj: Contact):
        """How many, the last, and a link to all of them (one query)."""
        summary = obj.calls.aggregate(n=Count("id"), last=Max("started_at"))
        if not summary["n"]:
            return "No calls."
        url = reverse("admin:calls_calllog_changelist") + f"?contact__id__exact={obj.pk}"
        return format_html('{} call(s), the last {} &middot; <a href="{}">all of them</a>',
                           summary["n"], _when(summary["last"]), url)  # fmt: skip

    @admin.display(description=f"last {RECENT_CALLS} calls")
    def recent_calls(self, obj: Contact):
        # One query, whatever the number of calls shown. Read through the reverse relation that
        # calls declare on contacts (CallLog.contact, related_name "calls"): contacts import
        # nothing of the calls app, which sits above them.
        recent = obj.calls.select_related("user").order_by("-started_at", "-id")
        calls = list(recent[:RECENT_CALLS])
        if not calls:
            return "No calls."
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:calls_calllog_change", args=[call.pk]),
                    _when(call.started_at),
                    call.get_direction_display(),
                    call.user.email,
                    call.phone,
                    duration_text(call.duration_seconds),
                )
                for call in calls
            ),
        )
        return format_html(
            "<table><thead><tr><th>started</th><th>direction</th><th>user</th><th>phone</th>"
            "<th>duration</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="activity")
    def history(self, obj: Contact):
        # One query: the (object_type, object_id, -created_at) index answers it.
        entries = list(activity_for_object(obj)[:HISTORY_ROWS])
        if not entries:
            return "No recorded activity."
        people = _people_in(entries)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    _when(entry.created_at),
                    entry.actor.email if entry.actor else "system",
                    activity_label(entry.action),
                    _changes_text(_named(entry.changes, people)),
                )
                for entry in entries
            ),
        )
        return format_html(
            "<table><thead><tr><th>when</th><th>who</th><th>action</th><th>changes</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            rows,
        )

    def history_view(self, request, object_id, extra_context=None):
        """One history: the activity log's (Django's own log is not written by the
        services), as the page's activity section and the log filtered to this contact."""
        url = reverse("admin:ledger_activity_changelist")
        return HttpResponseRedirect(f"{url}?object_type=contact&object_id={object_id}")

    # --- permissions: tombstones are read-only --------------------------------------------

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    # --- writes through the services --------------------------------------------------------

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        custom = data.get("custom_fields") or {}
        if change:
            # The form shows the whole object: a key taken out of it is a value cleared.
            shown = form.initial.get("custom_fields") or {}
            custom = {**dict.fromkeys(shown), **custom} if custom != shown else {}
            outcome = contact_update(
                actor=request.user,
                contact=obj,
                name=data["name"],
                phone=data["phone"],
                base_version=data.get("base_version"),
                **{name: data.get(name, "") for name in DETAILS},
                tags=data.get("tags") or [],
                custom_fields=custom,
            )
        else:
            outcome = contact_create(
                actor=request.user,
                item=ContactInput(
                    name=data["name"],
                    phone=data["phone"],
                    created_at=data.get("created_at"),
                    created_by=data.get("created_by") or request.user,
                    **{name: data.get(name, "") for name in DETAILS},
                    tags=data.get("tags") or [],
                    custom_fields=custom or None,
                ),
            )
        _adopt(obj, outcome.contact)
        obj._service_result = outcome.result

    def log_addition(self, request, obj, message):
        # Adding a number the book already holds creates nothing: no "added" entry.
        if getattr(obj, "_service_result", Result.CREATED) == Result.CREATED:
            return super().log_addition(request, obj, message)
        return None

    def response_add(self, request, obj, post_url_continue=None):
        result = getattr(obj, "_service_result", Result.CREATED)
        if result == Result.CREATED:
            return super().response_add(request, obj, post_url_continue)
        if result == Result.EXISTING:
            message = (
                "A contact with this number already exists and is as old or older, so it was "
                "kept unchanged: “{}”. Nothing was added."
            )
        else:
            message = (
                "A younger contact held this number; it now takes this contact's name, creator "
                "and creation time (the older record wins): “{}”."
            )
        self.message_user(request, format_html(message, obj), messages.WARNING)
        return HttpResponseRedirect(reverse("admin:contacts_contact_change", args=[obj.pk]))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The service refuses some edits only when it writes (under its lock): another contact
        holds the number, or someone saved a newer version meanwhile. Nothing was saved; say so
        and reopen the page."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DuplicatePhone as exc:
            url = reverse("admin:contacts_contact_change", args=[exc.existing.pk])
            self.message_user(
                request,
                format_html(
                    'Not saved: <a href="{}">{}</a> already has this phone number.',
                    url,
                    exc.existing,
                ),
                messages.ERROR,
            )
        except VersionConflict as exc:
            self.message_user(
                request,
                "Not saved: someone changed this contact's "
                f"{', '.join(exc.conflicting_fields)} after you opened it. "
                "Here is the current version; make your change again.",
                messages.ERROR,
            )
        except (ContactGone, ContactInvalid) as exc:
            self.message_user(request, f"Not saved: {exc.detail}", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def delete_model(self, request, obj):
        contact_delete(actor=request.user, contact=obj)

    def delete_queryset(self, request, queryset):
        # One service call per contact: each gets its own version and activity record.
        for contact in queryset:
            contact_delete(actor=request.user, contact=contact)

    # --- import / export ------------------------------------------------------------------

    def export_stream(self, queryset):
        return contact_export_rows(queryset), contact_export_cells()

    def get_urls(self):
        return [
            path(
                "<uuid:pk>/restore/",
                self.admin_site.admin_view(self.restore_view),
                name="contacts_contact_restore",
            ),
            path(
                "import-template/",
                self.admin_site.admin_view(self.import_template_view),
                name="contacts_contact_import_template",
            ),
            *super().get_urls(),
        ]

    def restore_view(self, request, pk):
        """POST: a deleted contact back in the book (contacts.services.contact_restore)."""
        contact = Contact.objects.filter(pk=pk).first()
        if contact is None or request.method != "POST":
            raise PermissionDenied
        if not super().has_change_permission(request):
            raise PermissionDenied
        try:
            contact_restore(actor=request.user, contact=contact)
        except DuplicatePhone as exc:
            self.message_user(
                request,
                f"{contact.name} cannot be restored: {exc.existing.name} holds this number "
                f"({exc.existing.phone_normalized}) now. Delete or renumber that contact first.",
                messages.ERROR,
            )
        else:
            self.message_user(request, f"{contact.name} is restored.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:contacts_contact_change", args=[pk]))

    def import_template_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="contacts-import-template.csv"'
        return response

    def import_action(self, request, **kwargs):
        # Reading, checking and previewing thousands of rows: see crm.memory.gc_paused. The page
        # is rendered here, inside the pause, while every row's result is still alive (no
        # middleware of ours post-processes template responses).
        with gc_paused():
            response = super().import_action(request, **kwargs)
            if isinstance(response, TemplateResponse):
                response.context_data.update(
                    self.import_extra_context(request, response.context_data)
                )
                response.render()
            return response

    def import_extra_context(self, request, context: dict) -> dict:
        """More for the import page (the jobs app offers "import the valid rows" here)."""
        return {}

    def process_import(self, request, **kwargs):
        with gc_paused():
            return super().process_import(request, **kwargs)

    def has_import_permission(self, request):
        return super().has_import_permission(request) and self.has_add_permission(request)

    def get_import_context_data(self, **kwargs):
        return {
            **super().get_import_context_data(**kwargs),
            "default_region": settings.PHONE_DEFAULT_REGION,
            "job_rows": settings.ADMIN_IMPORT_JOB_ROWS,
        }

    def add_success_message(self, result, request):
        totals = result.outcome_totals
        self.message_user(
            request,
            f"Imported {sum(totals.values())} rows: {totals[Result.CREATED]} created, "
            f"{totals[Result.EXISTING]} already existed (the older record was kept), "
            f"{totals[Result.REPLACED]} replaced by an older record.",
            messages.SUCCESS,
        )

    def process_result(self, result, request):
        """The confirm step imports the whole file or nothing. Should the file no longer pass
        (it is checked again, against the database as it is now), show why instead of
        announcing an import that did not happen."""
        if not (result.has_errors() or result.has_validation_errors()):
            return super().process_result(result, request)
        form_class = self.get_import_form_class(request)
        form = form_class(self.get_import_formats(), self.get_import_resource_classes(request))
        context = {
            **self.admin_site.each_context(request),
            **self.get_import_context_data(),
            "title": "Import",
            "form": form,
            "opts": self.model._meta,
            "media": self.media + form.media,
            "result": result,
            "fields_list": [],
            "import_error_display": self.import_error_display,
        }
        self.message_user(request, "Nothing was imported.", messages.ERROR)
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)


def _people_in(entries) -> dict[str, str]:
    """User ids named in the entries' created_by changes -> their emails (one query)."""
    ids = {
        value for entry in entries for value in (entry.changes or {}).get("created_by", [])
        if isinstance(value, str)
    }  # fmt: skip
    valid = [pk for pk in ids if _is_uuid(pk)]
    users = get_user_model().objects.filter(pk__in=valid)
    return {str(pk): email for pk, email in users.values_list("pk", "email")}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _named(changes: dict, people: dict[str, str]) -> dict:
    """A change of creator shows emails, not ids."""
    if "created_by" not in (changes or {}):
        return changes
    return {**changes, "created_by": [people.get(v, v) for v in changes["created_by"]]}


def _changes_text(changes) -> str:
    if not isinstance(changes, dict) or not changes:
        return ""
    parts = []
    for key, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            parts.append(f"{key}: {value[0]} → {value[1]}")
        else:
            parts.append(f"{key}: {value}")
    return "; ".join(parts)


# --- lists, custom fields, bulk operations -------------------------------------------------


class MembershipInline(admin.TabularInline):
    """Members, who added them and when. Members are added and removed with the contact
    list's actions (they go through the list services: versions, history)."""

    model = ListMembership
    fields = ("contact", "added_by", "added_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    ordering = ("-added_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("contact", "added_by")

    def has_add_permission(self, request, obj=None):
        return False


class ContactListForm(forms.ModelForm):
    class Meta:
        model = ContactList
        fields = ("name", "description")

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if list_name_taken(name, but=self.instance if self.instance.pk else None):
            raise ValidationError(NAME_TAKEN)
        return name


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    form = ContactListForm
    list_display = ("name", "members", "created_by", "updated_at", "version")
    search_fields = ("name",)
    fields = ("name", "description", "created_by", "created_at", "updated_at", "version")
    readonly_fields = ("created_by", "created_at", "updated_at", "version")
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return ContactList.live.select_related("created_by")

    @admin.display(description="members")
    def members(self, obj: ContactList) -> int:
        return self._counts.get(obj.pk, 0)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        self._counts = list_counts([entry.pk for entry in changelist.result_list])
        return changelist

    def has_add_permission(self, request):
        return request.user.is_manager_or_admin

    def has_change_permission(self, request, obj=None):
        return request.user.is_manager_or_admin

    def has_delete_permission(self, request, obj=None):
        return request.user.is_manager_or_admin

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                saved = list_update(actor=request.user, contact_list=obj, name=data["name"],
                                    description=data.get("description", ""))  # fmt: skip
            else:
                saved = list_create(actor=request.user, name=data["name"],
                                    description=data.get("description", ""))  # fmt: skip
        except ContactInvalid as exc:
            raise ValidationError(str(exc.detail)) from None
        obj.pk, obj.version, obj.created_by = saved.pk, saved.version, saved.created_by
        obj._state.adding = False

    def delete_model(self, request, obj):
        list_delete(actor=request.user, contact_list=obj)

    def delete_queryset(self, request, queryset):
        for contact_list in queryset:
            list_delete(actor=request.user, contact_list=contact_list)


class ContactFieldForm(forms.ModelForm):
    class Meta:
        model = ContactField
        fields = ("key", "label", "type", "choices", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["choices"].help_text = "Comma-separated; only for a choice field."
        if self.instance.pk and not self.instance._state.adding:
            for name in ("key", "type"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Cannot be changed."

    def clean(self):
        data = super().clean()
        problems = custom_field_problems(
            label=data.get("label"), type=data.get("type"), choices=data.get("choices") or []
        )
        if not KEY_PATTERN.match(data.get("key") or ""):
            problems["key"] = ["A lower-case letter, then lower-case letters, digits or _."]
        for name, messages_ in problems.items():
            self.add_error(name if name in self.fields else None, messages_)
        return data


@admin.register(ContactField)
class ContactFieldAdmin(admin.ModelAdmin):
    """Definitions: values are checked against them on every write path; deleting one only
    deactivates it (values are kept, hidden)."""

    form = ContactFieldForm
    list_display = ("key", "label", "type", "active", "updated_at")
    list_filter = ("active", "type")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                saved = custom_field_update(
                    actor=request.user, field=obj, label=data["label"],
                    choices=data.get("choices") or [], active=data["active"],
                )  # fmt: skip
            else:
                saved = custom_field_create(
                    actor=request.user, key=data["key"], label=data["label"], type=data["type"],
                    choices=data.get("choices") or [], active=data["active"],
                )  # fmt: skip
        except ContactInvalid as exc:
            raise ValidationError(str(exc.detail)) from None
        obj.__dict__.update({k: getattr(saved, k) for k in ("key", "active", "updated_at")})

    def delete_model(self, request, obj):
        custom_field_deactivate(actor=request.user, field=obj)

    def delete_queryset(self, request, queryset):
        for field in queryset:
            custom_field_deactivate(actor=request.user, field=field)


@admin.register(BulkOperation)
class BulkOperationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "actor", "processed", "succeeded", "failed",
                    "undone_at")  # fmt: skip
    list_filter = ("action",)
    list_select_related = ("actor", "undone_by")
    readonly_fields = ("action", "data", "actor", "created_at", "processed", "succeeded",
                       "failed", "errors", "undone_at", "undone_by", "undo_result")  # fmt: skip
    actions = ["undo"]

    def get_actions(self, request):
        return {
            name: value for name, value in super().get_actions(request).items()
            if name != "delete_selected"
        }  # fmt: skip

    def has_view_permission(self, request, obj=None):
        return request.user.is_manager_or_admin

    @admin.action(description="Undo the selected operations")
    def undo(self, request, queryset):
        for operation in queryset.order_by("-created_at"):  # the newest first
            result = bulk_undo(actor=request.user, operation=operation)
            self.message_user(
                request,
                f"{operation}: {result['succeeded']} put back, {result['failed']} changed since "
                "(left as they are).",
                messages.SUCCESS,
            )
