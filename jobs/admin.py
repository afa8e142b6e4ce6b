"""Import jobs in the back office: the list with each job's outcome, a progress page that
follows a running job, its errors file, cancel and undo."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from contacts.admin import ContactAdmin
from contacts.models import Contact
from crm.http.admin import ReadOnlyAdmin
from crm.http.errors import ApiError
from crm.http.exports import export_response
from dnc.admin import DncListAdmin
from dnc.models import DncList
from jobs.imports import rows_estimate
from jobs.models import ImportJob, ImportKind
from jobs.selectors import ERRORS_HEADER, import_errors_rows
from jobs.services import import_job_cancel, import_job_create, import_job_undo


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
        return super().change_view(request, object_id, form_url, extra_context=context)


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


def _queued(request, upload, **job) -> ImportJob | None:
    try:
        created = import_job_create(actor=request.user, file=upload, **job)
    except ApiError as exc:
        errors = getattr(exc, "errors", None) or {"file": [str(exc.detail)]}
        messages.error(request, " ".join(m for ms in errors.values() for m in ms))
        return None
    messages.success(request, format_html(
        "{} has {} rows: it is imported in the background. {}", upload.name,
        f"{rows_estimate(upload):,}", job_link(created),
    ))  # fmt: skip
    return created


class ContactAdminWithJobs(ContactAdmin):
    def import_action(self, request, **kwargs):
        upload = request.FILES.get("import_file")
        if request.method == "POST" and upload is not None and _big(upload):
            if not self.has_import_permission(request):
                raise PermissionDenied
            job = _queued(request, upload, kind=ImportKind.CONTACTS)
            if job is None:
                return HttpResponseRedirect(request.path)
            return HttpResponseRedirect(reverse("admin:jobs_importjob_change", args=[job.pk]))
        return super().import_action(request, **kwargs)


class DncListAdminWithJobs(DncListAdmin):
    def _import(self, request, dnc_list, upload) -> bool:
        if not _big(upload):
            return super()._import(request, dnc_list, upload)
        return _queued(request, upload, kind=ImportKind.DNC, list_id=dnc_list.pk) is not None


for model, model_admin in ((Contact, ContactAdminWithJobs), (DncList, DncListAdminWithJobs)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
