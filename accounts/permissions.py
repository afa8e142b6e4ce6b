from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Role


class IsAdminRole(BasePermission):
    message = "Only administrators may do this."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_admin)


class IsManagerOrAdmin(BasePermission):
    message = "Only managers and administrators may do this."

    def has_permission(self, request, view):
        return bool(
            request.user and request.user.is_authenticated and request.user.is_manager_or_admin
        )


class ReadOnlyForViewers(BasePermission):
    """Viewers read; every other role may also write (object rules come on top)."""

    message = "Viewers have read-only access."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return True
        return request.user.role != Role.VIEWER


class ReadAllWriteManagers(BasePermission):
    """Every signed-in user reads; managers and administrators write."""

    message = IsManagerOrAdmin.message

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return IsManagerOrAdmin().has_permission(request, view)


class ReadAllWriteAdmins(BasePermission):
    """Every signed-in user reads; administrators write."""

    message = IsAdminRole.message

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return IsAdminRole().has_permission(request, view)
