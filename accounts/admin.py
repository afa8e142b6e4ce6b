"""The team's users in the back-office.

Writes go through accounts.services (user_create, user_update) so the activity log records
them and a deactivation or a new password revokes the user's tokens, as with the API. Users are
never deleted, only deactivated: their contacts and calls keep their author.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import SetPasswordMixin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework_simplejwt.token_blacklist.admin import (
    BlacklistedTokenAdmin,
    OutstandingTokenAdmin,
)
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.services import user_create, user_self_lockout_errors, user_update

# Roles are the permission model (accounts.models.Role); Django's groups are not used.
admin.site.unregister(Group)


class UserAddForm(SetPasswordMixin, forms.ModelForm):
    password1, password2 = SetPasswordMixin.create_password_fields()

    class Meta:
        model = User
        fields = ("email", "name", "role")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError("A user with this email already exists.")
        return email

    def clean(self):
        self.validate_passwords()
        return super().clean()

    def _post_clean(self):
        super()._post_clean()
        # After the instance holds email and name: the similarity validator compares them.
        self.validate_password_for_user(self.instance)


class UserChangeForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("name", "role", "is_active")

    # Set by UserAdmin.get_form: who is editing.
    editor: User | None = None

    def clean(self):
        data = super().clean()
        errors = user_self_lockout_errors(
            actor=self.editor,
            user=self.instance,
            role=data.get("role"),
            is_active=data.get("is_active"),
        )
        for field, message in errors.items():
            self.add_error(field, message)
        return data


class UserPasswordForm(SetPasswordMixin, forms.Form):
    password1, password2 = SetPasswordMixin.create_password_fields()

    def __init__(self, user: User, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        self.validate_passwords()
        self.validate_password_for_user(self.user)
        return super().clean()


def _adopt(obj: User, saved: User) -> None:
    """Point the admin's object at the row the service saved."""
    for model_field in User._meta.concrete_fields:
        setattr(obj, model_field.attname, getattr(saved, model_field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    add_form = UserAddForm
    form = UserChangeForm
    change_password_form = UserPasswordForm

    list_display = ("email", "name", "role", "is_active", "last_login", "created_at")
    list_filter = ("role", "is_active")
    search_fields = ("email", "name")
    ordering = ("email",)
    add_fieldsets = ((None, {"fields": ("email", "name", "role", "password1", "password2")}),)
    fieldsets = (
        (None, {"fields": ("email", "name", "role", "is_active", "password_link")}),
        ("Work", {"fields": ("work", "devices_list")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    readonly_fields = ("email", "password_link", "work", "devices_list", "last_login",
                       "created_at", "updated_at")  # fmt: skip

    # Through the reverse relations the apps above declare on users (contacts, calls,
    # devices, sync records): accounts imports none of them.

    @admin.display(description="contacts and calls")
    def work(self, user: User):
        contacts = user.contacts.filter(deleted_at__isnull=True).count()
        calls = user.calls.count()
        last_sync = (
            user.sync_records.order_by("-started_at").values_list("started_at", flat=True).first()
        )
        return format_html(
            '<a href="{}">{} contact(s)</a> created &middot; <a href="{}">{} call(s)</a> '
            "&middot; last sync: {}",
            reverse("admin:contacts_contact_changelist") + f"?created_by__id__exact={user.pk}",
            contacts,
            reverse("admin:calls_calllog_changelist") + f"?user__id__exact={user.pk}",
            calls,
            last_sync or "never",
        )

    @admin.display(description="devices")
    def devices_list(self, user: User):
        devices = list(user.devices.order_by("-last_sync_at"))
        if not devices:
            return "No devices."
        return format_html_join(
            mark_safe("<br>"), "{} ({} {}), last sync {}",
            ((d.device_id, d.platform or "?", d.app_version or "", d.last_sync_at or "never")
             for d in devices),
        )  # fmt: skip

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            form = type(form.__name__, (form,), {"editor": request.user})
        return form

    @admin.display(description="password")
    def password_link(self, obj: User):
        url = reverse("admin:accounts_user_password_change", args=[obj.pk])
        return format_html('<a href="{}">Change the password</a>', url)

    def has_delete_permission(self, request, obj=None):
        # Deactivate instead: a user's contacts and calls keep their author.
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            # A fresh row, not the form's instance: the form has already copied the new
            # values into it, and the service records what changed from what.
            saved = user_update(
                actor=request.user,
                user=User.objects.get(pk=obj.pk),
                name=data["name"],
                role=data["role"],
                is_active=data["is_active"],
            )
        else:
            saved = user_create(
                actor=request.user,
                email=data["email"],
                password=data["password1"],
                name=data["name"],
                role=data["role"],
            )
        _adopt(obj, saved)

    # --- the password page ------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<id>/password/",
                self.admin_site.admin_view(self.user_change_password),
                name="accounts_user_password_change",
            ),
            *super().get_urls(),
        ]

    @method_decorator(sensitive_post_parameters())
    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404("No such user.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        if request.method == "POST":
            form = self.change_password_form(user, request.POST)
            if form.is_valid():
                user = user_update(
                    actor=request.user, user=user, password=form.cleaned_data["password1"]
                )
                self.log_change(request, user, "Changed the password.")
                messages.success(request, "Password changed.")
                if user.pk == request.user.pk:
                    update_session_auth_hash(request, user)
                return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        else:
            form = self.change_password_form(user)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change password: {user.email}",
            "adminForm": admin.helpers.AdminForm(
                form, [(None, {"fields": list(form.base_fields)})], {}
            ),
            "form_url": form_url,
            "form": form,
            "is_popup": False,
            "add": True,
            "change": False,
            "has_delete_permission": False,
            "has_change_permission": True,
            "has_absolute_url": False,
            "opts": self.opts,
            "original": user,
            "save_as": False,
            "show_save": True,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/accounts/user/change_password.html", context)


# The token blacklist's tables are the login machinery's own: reachable by their address,
# not shown on the back office's index among the business.
class _OffTheIndex:
    def has_module_permission(self, request):
        return False


for _model, _admin in ((OutstandingToken, OutstandingTokenAdmin),
                       (BlacklistedToken, BlacklistedTokenAdmin)):  # fmt: skip
    admin.site.unregister(_model)
    admin.site.register(_model, type(_admin.__name__, (_OffTheIndex, _admin), {}))
