import pytest
from django.core.management import call_command

from accounts.models import User
from calls.models import CallLog
from calls.tests.factories import make_call
from contacts.models import Contact
from contacts.tests.factories import make_contact
from ledger.models import ChangeFeed
from syncaudit.models import SyncRecord

pytestmark = pytest.mark.django_db(transaction=True)


def _snapshot():
    return {
        "users": set(User.objects.values_list("id", "email", "role")),
        "contacts": set(
            Contact.objects.values_list("id", "name", "phone_normalized", "version", "deleted_at")
        ),
        "calls": set(CallLog.objects.values_list("id", "contact_id", "started_at")),
        "syncs": set(SyncRecord.objects.values_list("id", flat=True)),
    }


def test_backup_wipe_restore_finds_every_row(tmp_path, agent):
    for n in range(5):
        contact = make_contact(actor=agent, name=f"Person {n}")
        make_call(user=agent, phone=contact.phone_normalized)
    make_call(user=agent, phone="Private")
    SyncRecord.objects.create(user=agent, device_ref="phone")
    before = _snapshot()
    epoch = ChangeFeed.objects.get(name="contacts").epoch
    dump = tmp_path / "crm.dump"

    call_command("backup", str(dump), verbosity=0)
    assert dump.stat().st_size > 0
    CallLog.objects.all().delete()
    Contact.objects.all().delete()
    SyncRecord.objects.all().delete()
    assert Contact.objects.count() == 0

    call_command("restore", str(dump), yes=True, verbosity=0)
    assert _snapshot() == before
    assert ChangeFeed.objects.get(name="contacts").epoch != epoch  # old cursors refused


def _cursor_status(client, cursor: str) -> int:
    return client.get("/api/v1/sync/contacts", {"cursor": cursor}).status_code


def test_restoring_one_backup_twice_never_lets_a_cursor_of_the_first_restore_back(
    tmp_path, agent, client_for
):
    """A phone that synced between two restores of the same backup must do a full sync after
    the second: its cursor's changes are gone (found by an attacker: 5 of 8 new contacts were
    skipped for good when both restores ended at the same epoch)."""
    client = client_for(agent)
    make_contact(actor=agent, name="Before the backup")
    dump = tmp_path / "crm.dump"
    call_command("backup", str(dump), verbosity=0)

    call_command("restore", str(dump), yes=True, verbosity=0)
    for n in range(3):
        make_contact(actor=agent, name=f"After the first restore {n}")
    between = client.get("/api/v1/sync/contacts").json()["cursor"]
    assert _cursor_status(client, between) == 200

    call_command("restore", str(dump), yes=True, verbosity=0)
    for n in range(8):  # versions climb past the cursor's again
        make_contact(actor=agent, name=f"After the second restore {n}")
    assert _cursor_status(client, between) == 410


def test_a_cursor_ahead_of_the_server_is_expired_like_a_reset_one(agent, client_for):
    client = client_for(agent)
    make_contact(actor=agent)
    cursor = client.get("/api/v1/sync/contacts").json()["cursor"]
    ChangeFeed.objects.filter(name="contacts").update(version=0)  # the data went back in time
    response = client.get("/api/v1/sync/contacts", {"cursor": cursor})
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "cursor_expired"


def test_restore_refuses_a_missing_file(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="does not exist"):
        call_command("restore", str(tmp_path / "nope.dump"), yes=True)
