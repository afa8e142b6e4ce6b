"""Import jobs in the back office: the list with each job's outcome, a progress page that
follows a running job, its errors file, cancel and undo."""

import itertools
import re
import uuid
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import User
from contacts.admin import ContactAdmin
from contacts.custom_fields import custom_fields_active
from contacts.models import Contact, ContactList
from crm.http.admin import ReadOnlyAdmin
from crm.http.errors import ApiError
from crm.http.exports import export_response
from dnc.admin import DncListAdmin
from dnc.models import DncList
from jobs.imports import PENDING, template_csv
from jobs.mapping import IGNORE, REQUIRED, TARGETS
from jobs.models import ImportJob, ImportKind, ImportMapping
from jobs.selectors import ERRORS_HEADER, import_errors_rows, import_job_ignored
from jobs.services import import_job_cancel, import_job_create, import_job_map, import_job_undo
from jobs.sources import cell_text, file_rows, has_own_fields, rows_estimate, upload_header

_PENDING_TOKEN = re.compile(r"[0-9a-f-]{36}/[^/\\]{1,200}")


def _managers(request) -> bool:
    return request.user.is_active and request.user.is_manager_or_admin


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ("filename", "kind", "status", "progress_shown", "outcome", "created_by",
                    "created_at", "undone_at")  # fmt: skip
    list_filter = ("status", "kind", "dry_run")
    list_select_related = ("created_by",)
    search_fields = ("filename", "created_by__email")
    date_hierarchy = "created_at"
    change_form_template = "admin/jobs/importjob/change_form.html"
    readonly_fields = ("kind", "filename", "size", "status", "phase", "progress", "total_rows",
                       "processed_rows", "created", "existing", "replaced", "invalid", "dry_run",
                       "skip_invalid", "contact_list", "dnc_list", "calls_user", "device_id",
                       "error", "created_by", "created_at", "started_at", "finished_at",
                       "undone_at", "undone_by", "undo_report")  # fmt: skip
    fields = readonly_fields
    actions = ["undo_selected"]

    def has_view_permission(self, request, obj=None):
        return _managers(request)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="progress")
    def progress_shown(self, job):
        return f"{job.progress}%"

    @admin.display(description="outcome")
    def outcome(self, job):
        text = (f"{job.created} created, {job.existing} existing, {job.replaced} replaced, "
                f"{job.invalid} invalid")  # fmt: skip
        return f"{text} (dry run)" if job.dry_run else text

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<uuid:pk>/errors/", wrap(self.errors_view), name="jobs_importjob_errors"),
            path("<uuid:pk>/cancel/", wrap(self.cancel_view), name="jobs_importjob_cancel"),
            path("<uuid:pk>/undo/", wrap(self.undo_view), name="jobs_importjob_undo"),
            path("<uuid:pk>/mapping/", wrap(self.mapping_view), name="jobs_importjob_mapping"),
            path("template/", wrap(self.template_view), name="jobs_importjob_template"),
            path("from-preview/", wrap(self.from_preview_view), name="jobs_importjob_from_preview"),
            *super().get_urls(),
        ]

    def _job(self, request, pk) -> ImportJob:
        job = self.get_object(request, str(pk))
        if job is None or not _managers(request):
            raise PermissionDenied
        return job

    def errors_view(self, request, pk):
        job = self._job(request, pk)
        return export_response(
            fmt="csv", filename=f"import-{job.pk}-errors", header=ERRORS_HEADER,
            rows=import_errors_rows(job), cells=lambda row: [row[c] for c in ERRORS_HEADER],
        )  # fmt: skip

    def _post(self, request, pk, service, done: str):
        job = self._job(request, pk)
        if request.method != "POST":
            raise PermissionDenied
        try:
            job = service(actor=request.user, job=job)
            self.message_user(request, done.format(job=job), messages.SUCCESS)
        except ApiError as exc:
            self.message_user(request, str(exc.detail), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:jobs_importjob_change", args=[job.pk]))

    def mapping_view(self, request, pk):
        """The column mapping of a job waiting for it: each column of the file with a few of
        its values and the field it goes to (the proposal preselected), and a name to save
        the mapping under."""
        job = self._job(request, pk)
        if job.status != "needs_mapping":
            return HttpResponseRedirect(reverse("admin:jobs_importjob_change", args=[job.pk]))
        form = MappingForm(job, request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                import_job_map(actor=request.user, job=job, mapping=form.mapping(),
                               save_as=form.cleaned_data["save_as"])  # fmt: skip
            except ApiError as exc:
                errors = getattr(exc, "errors", None) or {"mapping": [str(exc.detail)]}
                for messages_of in errors.values():
                    for message in messages_of:
                        form.add_error(None, message)
            else:
                self.message_user(request, f"{job}: queued with your mapping.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:jobs_importjob_change", args=[job.pk]))
        return TemplateResponse(request, "admin/jobs/importjob/mapping.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "job": job,
            "form": form, "rows": form.rows(), "title": f"Columns of {job.filename}",
        })  # fmt: skip

    def from_preview_view(self, request):
        """POST: the kept upload of a contacts preview with invalid rows, imported as a job
        that skips them."""
        token = request.POST.get("pending", "")
        if (
            request.method != "POST"
            or not _managers(request)
            or not _PENDING_TOKEN.fullmatch(token)
        ):
            raise PermissionDenied
        path_ = f"{PENDING}{token}"
        if not default_storage.exists(path_):
            self.message_user(request, "That upload has expired; upload the file again.",
                              messages.ERROR)  # fmt: skip
            return HttpResponseRedirect(reverse("admin:contacts_contact_import"))
        with default_storage.open(path_, "rb") as stored:
            upload = File(stored, name=token.split("/", 1)[1])
            upload.size = default_storage.size(path_)
            job = _queued(request, upload, kind=ImportKind.CONTACTS, skip_invalid=True)
        default_storage.delete(path_)
        if job is None:
            return HttpResponseRedirect(reverse("admin:contacts_contact_import"))
        return _job_page(job)

    def template_view(self, request):
        if not _managers(request):
            raise PermissionDenied
        kind = request.GET.get("kind", ImportKind.CONTACTS)
        if kind not in ImportKind.values:
            kind = ImportKind.CONTACTS
        response = HttpResponse(
            "\ufeff" + template_csv(kind), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
        return response

    def add_view(self, request, form_url="", extra_context=None):
        """Upload a file (contacts, DNC numbers or call history) as an import job."""
        if not _managers(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            job = _queued(
                request, data["file"], kind=data["kind"],
                list_id=(data.get("contact_list") or data.get("dnc_list") or None)
                and (data.get("contact_list") or data.get("dnc_list")).pk,
                user=data["user"].pk if data.get("user") else None,
                device_id=data["device_id"], dry_run=data["dry_run"],
                skip_invalid=data["skip_invalid"],
                mapping_name=data["mapping"].name if data.get("mapping") else None,
            )  # fmt: skip
            if job is not None:
                return _job_page(job)
        return TemplateResponse(request, "admin/jobs/importjob/upload.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": "Import a file", "add": True,
        })  # fmt: skip

    def has_add_permission(self, request):
        return _managers(request)

    def cancel_view(self, request, pk):
        return self._post(request, pk, import_job_cancel, "{job}: cancelled (or stopping).")

    def undo_view(self, request, pk):
        return self._post(request, pk, import_job_undo, "{job}: undone. {job.undo_summary}")

    @admin.action(description="Undo the selected imports")
    def undo_selected(self, request, queryset):
        for job in queryset.order_by("-created_at"):  # the newest first
            try:
                job = import_job_undo(actor=request.user, job=job)
            except ApiError as exc:
                self.message_user(request, f"{job}: {exc.detail}", messages.ERROR)
                continue
            self.message_user(request, f"{job}: undone. {job.undo_summary}", messages.SUCCESS)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        context = {"job": job, **(extra_context or {})}
        if job is not None:
            context["errors_url"] = reverse("admin:jobs_importjob_errors", args=[job.pk])
            context["cancel_url"] = reverse("admin:jobs_importjob_cancel", args=[job.pk])
            context["undo_url"] = reverse("admin:jobs_importjob_undo", args=[job.pk])
            context["ignored_columns"] = import_job_ignored(job)
        return super().change_view(request, object_id, form_url, extra_context=context)


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportKind.choices)
    file = forms.FileField(help_text="CSV (UTF-8), XLSX, vCard (.vcf) or the XML call log of "
                           "SMS Backup & Restore (.xml); at most 100 MB.")  # fmt: skip
    contact_list = forms.ModelChoiceField(
        ContactList.live.order_by("name"), required=False,
        help_text="Contacts: put the imported contacts on this list.",
    )  # fmt: skip
    dnc_list = forms.ModelChoiceField(
        DncList.objects.filter(deleted_at__isnull=True), required=False,
        label="Do-not-call list", help_text="DNC numbers: the list they go on (required).",
    )  # fmt: skip
    user = forms.ModelChoiceField(
        User.objects.filter(is_active=True).order_by("email"), required=False,
        help_text="Call history: whose calls (default: you).",
    )  # fmt: skip
    device_id = forms.CharField(required=False, max_length=128,
                                help_text="Call history: the phone they were made on.")  # fmt: skip
    mapping = forms.ModelChoiceField(
        ImportMapping.objects.all(), required=False, label="Saved column mapping",
        help_text="For a file whose columns you mapped before.",
    )  # fmt: skip
    skip_invalid = forms.BooleanField(
        required=False, help_text="Import the valid rows (default: one invalid row, none)."
    )
    dry_run = forms.BooleanField(required=False, help_text="Count only; save nothing.")


class MappingForm(forms.Form):
    save_as = forms.CharField(
        required=False, max_length=100, label="Save this mapping as",
        help_text="A name, to reuse it for the next file of this layout.",
    )  # fmt: skip

    def __init__(self, job: ImportJob, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        targets = list(TARGETS[job.kind])
        if job.kind == ImportKind.CONTACTS:
            targets += [f"custom_fields.{key}" for key in custom_fields_active()]
        choices = [(IGNORE, "(ignore)"), *((t, t) for t in targets)]
        for index, column in enumerate(job.columns):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                choices=choices, initial=(job.mapping or {}).get(column, IGNORE), label=column,
            )  # fmt: skip

    def mapping(self) -> dict:
        return {
            column: self.cleaned_data[f"column_{index}"]
            for index, column in enumerate(self.job.columns)
        }

    def rows(self):
        """(column, its first values, the field's widget) for the page."""
        samples = [cells for _, cells in itertools.islice(
            file_rows(self.job.file, self.job.filename), 1, 4)]  # fmt: skip
        return [
            (column, [cell_text(r[i]) for r in samples if i < len(r) and cell_text(r[i])],
             self[f"column_{i}"])
            for i, column in enumerate(self.job.columns)
        ]  # fmt: skip


def job_link(job: ImportJob) -> str:
    """An admin message's link to the job's progress page."""
    url = reverse("admin:jobs_importjob_change", args=[job.pk])
    return format_html('<a href="{}">{}</a>', url, job)


# --- big files in the admin's imports become jobs -------------------------------------------
# The contacts and DNC admins (lower layers) import small files at once; here, above them, a
# file of more than ADMIN_IMPORT_JOB_ROWS rows is handed to the worker instead, and the
# browser goes to the job's progress page.


def _big(upload) -> bool:
    return rows_estimate(upload) > settings.ADMIN_IMPORT_JOB_ROWS


def _not_ours(upload, kind: str) -> bool:
    """A vCard, or a file whose header lacks our required columns: it goes through a job (and
    its column mapping page), whatever its size."""
    if has_own_fields(upload.name or ""):
        return True
    header = {h.strip().lower().replace(" ", "_") for h in upload_header(upload)}
    return not set(REQUIRED[kind]) <= header


def _job_page(job: ImportJob) -> HttpResponseRedirect:
    name = "jobs_importjob_mapping" if job.status == "needs_mapping" else "jobs_importjob_change"
    return HttpResponseRedirect(reverse(f"admin:{name}", args=[job.pk]))


def _queued(request, upload, **job) -> ImportJob | None:
    try:
        created = import_job_create(actor=request.user, file=upload, **job)
    except ApiError as exc:
        errors = getattr(exc, "errors", None) or {"file": [str(exc.detail)]}
        messages.error(request, " ".join(m for ms in errors.values() for m in ms))
        return None
    if created.status == "needs_mapping":
        url = reverse("admin:jobs_importjob_mapping", args=[created.pk])
        messages.info(request, format_html(
            '{} is not in our columns: <a href="{}">say which column is which</a> (a proposal '
            "is filled in).", upload.name, url,
        ))  # fmt: skip
    else:
        messages.success(request, format_html(
            "{} ({} rows) is imported in the background. {}", upload.name,
            f"{rows_estimate(upload):,}", job_link(created),
        ))  # fmt: skip
    return created


class ContactAdminWithJobs(ContactAdmin):
    def import_action(self, request, **kwargs):
        upload = request.FILES.get("import_file")
        kind = ImportKind.CONTACTS
        if (
            request.method == "POST"
            and upload is not None
            and (_big(upload) or _not_ours(upload, kind))
        ):
            if not self.has_import_permission(request):
                raise PermissionDenied
            job = _queued(request, upload, kind=kind)
            return HttpResponseRedirect(request.path) if job is None else _job_page(job)
        return super().import_action(request, **kwargs)

    def import_extra_context(self, request, context: dict) -> dict:
        """A preview with invalid rows offers to import the valid ones: the upload is kept
        (a pending file) for a job with skip_invalid to take."""
        result, upload = context.get("result"), request.FILES.get("import_file")
        if result is None or upload is None or not result.has_validation_errors():
            return {}
        valid = result.total_rows - len(result.invalid_rows)
        if valid <= 0:
            return {}
        upload.seek(0)
        token = f"{uuid.uuid4()}/{PurePath(upload.name).name[-200:]}"
        default_storage.save(f"{PENDING}{token}", upload)
        return {"valid_rows_url": reverse("admin:jobs_importjob_from_preview"),
                "pending_token": token, "valid_count": valid}  # fmt: skip


class DncListAdminWithJobs(DncListAdmin):
    def _import(self, request, dnc_list, upload) -> bool:
        if not (_big(upload) or _not_ours(upload, ImportKind.DNC)):
            return super()._import(request, dnc_list, upload)
        return _queued(request, upload, kind=ImportKind.DNC, list_id=dnc_list.pk) is not None


for model, model_admin in ((Contact, ContactAdminWithJobs), (DncList, DncListAdminWithJobs)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
