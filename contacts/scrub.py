"""Scrubbing contact lists against the do-not-call lists before a campaign: a contacts
service that asks ``dnc`` which numbers are blocked (one set-based query), and can keep the
clean contacts as a new list."""

from django.db import transaction
from django.db.models import Count, OuterRef
from django.utils import timezone

from contacts.errors import ContactInvalid
from contacts.lists import list_create, members_add
from contacts.models import Contact, ContactList
from dnc.models import DncList
from dnc.selectors import dnc_blocked


def _ids_known(model_qs, ids, name: str) -> list:
    ids = list(dict.fromkeys(ids))
    known = set(model_qs.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [str(pk) for pk in ids if pk not in known]
    if missing:
        raise ContactInvalid({name: [f"No such list: {', '.join(missing[:10])}"]})
    return ids


@transaction.atomic
def contacts_scrub(*, actor, lists, dnc_lists=None, clean_list_name: str | None = None) -> dict:
    """The live contacts on any of ``lists``: how many are blocked by the DNC lists (all
    active ones, or ``dnc_lists``), and how many are clean; with ``clean_list_name`` the
    clean ones are put on a new contact list of that name."""
    lists = _ids_known(ContactList.live, lists, "lists")
    if dnc_lists is not None:
        dnc_lists = _ids_known(DncList.objects.filter(deleted_at__isnull=True), dnc_lists,
                               "dnc_lists")  # fmt: skip
    now = timezone.now()
    reached = Contact.live.filter(lists__overlap=lists).order_by()
    blocked = dnc_blocked(OuterRef("phone_normalized"), now=now, lists=dnc_lists)
    # One query: the contacts reached, each probed on the DNC number index.
    counts = reached.aggregate(total=Count("pk"), blocked=Count("pk", filter=blocked))
    clean_list = None
    if clean_list_name is not None:
        description = "Contacts with no do-not-call entry, from a scrub."
        clean_list = list_create(actor=actor, name=clean_list_name, description=description)
        clean_ids = list(reached.filter(~blocked).values_list("pk", flat=True))
        members_add(actor=actor, contact_list=clean_list, contact_ids=clean_ids)
    return {
        "total": counts["total"],
        "blocked": counts["blocked"],
        "clean": counts["total"] - counts["blocked"],
        "clean_list": str(clean_list.pk) if clean_list else None,
    }
