from django.contrib import admin

from crm.http.exports import export_response


class ReadOnlyAdmin(admin.ModelAdmin):
    """Logs and records that come from phones are evidence: viewable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StreamedExportMixin:
    """For admins with django-import-export's export: the file is streamed in constant memory
    through crm.http.exports (as the API's exports), rather than built whole in memory by
    tablib. It holds the changelist's filters and search, as import-export hands them over.
    Subclasses name ``export_filename`` and give ``export_header`` and ``export_stream``."""

    export_filename = "export"
    export_header: tuple = ()

    def export_stream(self, queryset):
        """(rows, cells): the rows of ``queryset`` read lazily, and a row -> cells function."""
        raise NotImplementedError

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        rows, cells = self.export_stream(queryset)
        return export_response(
            fmt=file_format.get_extension(), filename=self.export_filename,
            header=self.export_header, rows=rows, cells=cells,
        )  # fmt: skip
