"""The roles, and what each may do in the back office (the Django admin): the one place it is
decided.

The admin asks ``user.has_perm("app.action_model")``; the answer comes from the role, never
from per-user or group permissions (there are none to manage). Administrators may do
everything. Managers, and office staff given the manager role, get exactly their API rights:
contacts and their lists, calls, devices and sync records (read), do-not-call lists, import
jobs, bulk operations and the activity log (read) — not users, custom field definitions or the
system's own tables (the change feed, the task queue, login attempts, tokens). Agents and
viewers stay out of the back office: their place is the phone app and the API, and the admin
has no per-record "only your own contacts" rule to give them.
"""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    AGENT = "agent", "Agent"
    VIEWER = "viewer", "Viewer"


ALL = frozenset({"view", "add", "change", "delete"})
READ = frozenset({"view"})

BACK_OFFICE: dict[str, dict[str, frozenset[str]]] = {
    Role.MANAGER: {
        "contacts.contact": ALL,
        "contacts.contactlist": ALL,
        "contacts.listmembership": ALL,
        "contacts.bulkoperation": READ,
        "calls.calllog": READ,
        "calls.ownnumber": ALL,
        "dnc.dnclist": ALL,
        "dnc.dncentry": ALL,
        "jobs.importjob": frozenset({"view", "add"}),
        "syncaudit.device": READ,
        "syncaudit.syncrecord": READ,
        "ledger.activity": READ,
    },
}


def back_office_member(role: str) -> bool:
    """May sign in to the back office at all (Django's ``is_staff``)."""
    return role == Role.ADMIN or role in BACK_OFFICE


def role_may(role: str, perm: str) -> bool:
    """``perm`` as Django spells it: "contacts.view_contact"."""
    if role == Role.ADMIN:
        return True
    app_label, _, codename = perm.partition(".")
    action, _, model = codename.partition("_")
    return action in BACK_OFFICE.get(role, {}).get(f"{app_label}.{model}", ())


def role_may_use_app(role: str, app_label: str) -> bool:
    if role == Role.ADMIN:
        return True
    return any(label.startswith(f"{app_label}.") for label in BACK_OFFICE.get(role, {}))
