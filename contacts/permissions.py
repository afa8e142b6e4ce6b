from rest_framework.permissions import SAFE_METHODS, BasePermission


def contact_can_edit(user, contact) -> bool:
    """Creator, managers and admins may edit or delete a contact; viewers never."""
    if not user.can_write:
        return False
    return user.is_manager_or_admin or contact.created_by_id == user.pk


class ContactObjectPermission(BasePermission):
    message = "Only the contact's creator, managers and administrators may change it."

    def has_object_permission(self, request, view, obj):
        return request.method in SAFE_METHODS or contact_can_edit(request.user, obj)
