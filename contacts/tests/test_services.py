import sys
import threading
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.utils import timezone

from accounts.tests.factories import UserFactory
from calls.models import CallLog
from calls.tests.factories import make_call
from contacts.errors import ContactBatchInvalid, ContactInvalid, DuplicatePhone, VersionConflict
from contacts.models import Contact
from contacts.services import (
    ContactInput,
    _has_control_chars,
    contact_create,
    contact_delete,
    contact_update,
    contacts_upsert,
    contacts_validate,
)
from contacts.tests.factories import make_contact
from ledger.models import Activity

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 1, tzinfo=UTC)
PHONE = "+12022345678"


def create(user, name, created_at, phone=PHONE):
    return contact_create(
        actor=user, item=ContactInput(name=name, phone=phone, created_at=created_at)
    )


def test_it_creates_a_contact_with_a_normalised_number():
    user = UserFactory()
    outcome = create(user, "  Zoë   Ünal ", T0, phone="(202) 234-5678")
    contact = outcome.contact
    assert outcome.result == "created"
    assert (contact.name, contact.phone, contact.phone_normalized) == (
        "Zoë Ünal",
        "(202) 234-5678",
        PHONE,
    )
    assert contact.name_search == "zoe unal"
    assert contact.version > 0
    assert contact.created_by == user


def test_an_older_existing_contact_wins():
    first, second = UserFactory(), UserFactory()
    original = create(first, "First", T0).contact
    outcome = create(second, "Second", T0 + timedelta(days=1))
    assert outcome.result == "existing"
    assert outcome.contact.pk == original.pk
    original.refresh_from_db()
    assert (original.name, original.created_by) == ("First", first)
    assert Contact.objects.count() == 1


def test_the_same_age_keeps_what_is_there():
    first, second = UserFactory(), UserFactory()
    original = create(first, "First", T0).contact
    outcome = create(second, "Second", T0)
    assert outcome.result == "existing"
    original.refresh_from_db()
    assert original.name == "First"


def test_an_older_incoming_record_replaces_name_creator_and_age_but_keeps_the_id():
    first, second = UserFactory(), UserFactory()
    original = create(first, "Newer", T0 + timedelta(days=1)).contact
    outcome = create(second, "Older", T0)
    assert outcome.result == "replaced"
    assert outcome.contact.pk == original.pk
    original_version = original.version
    original.refresh_from_db()
    assert (original.name, original.created_by, original.created_at) == ("Older", second, T0)
    assert original.version > original_version
    activity = Activity.objects.get(action="contacts.contact.replaced")
    assert activity.changes["name"] == ["Newer", "Older"]
    assert activity.actor == second


def test_older_wins_inside_one_batch():
    user = UserFactory()
    outcomes = contacts_upsert(
        actor=user,
        items=[
            ContactInput(name="Young", phone=PHONE, created_at=T0 + timedelta(hours=2)),
            ContactInput(name="Old", phone="202 234 5678", created_at=T0),
            ContactInput(name="Middle", phone=PHONE, created_at=T0 + timedelta(hours=1)),
        ],
    )
    assert Contact.objects.get().name == "Old"
    assert [o.result for o in outcomes] == ["existing", "created", "existing"]
    assert len({o.contact.pk for o in outcomes}) == 1


def test_a_batch_with_a_bad_row_writes_nothing():
    user = UserFactory()
    with pytest.raises(ContactBatchInvalid) as exc:
        contacts_upsert(
            actor=user,
            items=[
                ContactInput(name="Good", phone=PHONE),
                ContactInput(name="", phone="nonsense"),
            ],
        )
    assert set(exc.value.errors) == {1}
    assert set(exc.value.errors[1]) == {"name", "phone"}
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "field"),
    [("", "name"), ("x" * 201, "name"), ("bad\x00name", "name"), ("tab\tname", "name")],
)
def test_it_rejects_bad_names(name, field):
    with pytest.raises(ContactInvalid) as exc:
        create(UserFactory(), name, None)
    assert field in exc.value.errors


def test_it_rejects_a_future_created_at_beyond_the_skew():
    with pytest.raises(ContactInvalid) as exc:
        create(UserFactory(), "Future", timezone.now() + timedelta(hours=1))
    assert "created_at" in exc.value.errors
    assert create(UserFactory(), "Skewed", timezone.now() + timedelta(minutes=2)).result == (
        "created"
    )


def test_a_deleted_contacts_number_can_be_used_again():
    user = UserFactory()
    old = create(user, "Old", T0).contact
    contact_delete(actor=user, contact=old)
    new = create(user, "New", T0 + timedelta(days=1))
    assert new.result == "created"
    assert new.contact.pk != old.pk
    assert Contact.objects.count() == 2
    assert Contact.live.count() == 1


def test_delete_is_soft_and_idempotent():
    user = UserFactory()
    contact = create(user, "Gone", T0).contact
    first = contact_delete(actor=user, contact=contact)
    version = first.contact.version
    second = contact_delete(actor=user, contact=contact)
    assert second.contact.version == version
    contact.refresh_from_db()
    assert contact.deleted_at is not None
    assert Activity.objects.filter(action="contacts.contact.deleted").count() == 1


def test_changing_to_a_number_another_contact_holds_is_refused():
    user = UserFactory()
    a = make_contact(actor=user, phone="+12022345678")
    b = make_contact(actor=user, phone="+12022345679")
    with pytest.raises(DuplicatePhone) as exc:
        contact_update(actor=user, contact=b, phone="202-234-5678")
    assert exc.value.existing.pk == a.pk
    assert exc.value.details["contact"]["id"] == str(a.pk)


def test_a_stale_base_version_is_a_conflict_but_a_retry_of_an_applied_edit_is_not():
    user = UserFactory()
    contact = make_contact(actor=user, name="A")
    base = contact.version
    updated = contact_update(actor=user, contact=contact, name="B", base_version=base)
    assert updated.result == "updated"
    # The same edit again (a retried request): no second change.
    retry = contact_update(actor=user, contact=contact, name="B", base_version=base)
    assert retry.contact.version == updated.contact.version
    # A different edit from the old base: conflict.
    with pytest.raises(VersionConflict):
        contact_update(actor=user, contact=contact, name="C", base_version=base)


def test_every_write_takes_a_new_higher_version():
    user = UserFactory()
    contact = make_contact(actor=user)
    v1 = contact.version
    v2 = contact_update(actor=user, contact=contact, name="Renamed").contact.version
    v3 = contact_delete(actor=user, contact=contact).contact.version
    assert v1 < v2 < v3


def test_calls_are_linked_when_their_contact_is_created_later():
    user = UserFactory()
    call = make_call(user=user, phone="(202) 234-5678")
    assert call.contact is None
    contact = create(user, "Later", T0).contact
    call.refresh_from_db()
    assert call.contact == contact


def test_changing_a_number_relinks_calls():
    user = UserFactory()
    contact = make_contact(actor=user, phone="+12022345678")
    old_call = make_call(user=user, phone="+12022345678")
    new_call = make_call(user=user, phone="+12022345600")
    assert old_call.contact_id == contact.pk and new_call.contact_id is None
    contact_update(actor=user, contact=contact, phone="+12022345600")
    assert CallLog.objects.get(pk=old_call.pk).contact_id is None
    assert CallLog.objects.get(pk=new_call.pk).contact_id == contact.pk


def _run_concurrently(functions):
    barrier = threading.Barrier(len(functions))
    errors = []

    def wrap(fn):
        try:
            barrier.wait()
            fn()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrap, args=(fn,)) for fn in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_number_end_with_one_contact_the_older():
    users = [UserFactory() for _ in range(6)]
    ages = [T0 + timedelta(hours=h) for h in (5, 3, 0, 4, 1, 2)]
    errors = _run_concurrently(
        [
            lambda u=u, age=age: create(u, f"by-{age.hour}", age)
            for u, age in zip(users, ages, strict=True)
        ]
    )
    assert errors == []
    contact = Contact.live.get(phone_normalized=PHONE)
    assert contact.name == "by-0"
    assert contact.created_at == T0
    assert Contact.objects.count() == 1


def test_a_dry_run_reports_outcomes_and_writes_nothing():
    user = UserFactory()
    create(user, "Newer", T0 + timedelta(days=1))
    call = make_call(user=user, phone="+12022345600")
    versions_before = list(Contact.objects.values_list("version", flat=True))
    activity_before = Activity.objects.count()
    outcomes = contacts_upsert(
        actor=user,
        items=[
            ContactInput(name="Older", phone=PHONE, created_at=T0),
            ContactInput(name="Fresh", phone="+12022345600"),
        ],
        dry_run=True,
    )
    assert [o.result for o in outcomes] == ["replaced", "created"]
    assert Contact.objects.get().name == "Newer"
    assert list(Contact.objects.values_list("version", flat=True)) == versions_before
    assert Activity.objects.count() == activity_before
    call.refresh_from_db()
    assert call.contact is None


def test_outcomes_of_one_number_share_one_contact_and_it_is_the_saved_row():
    user = UserFactory()
    outcomes = contacts_upsert(
        actor=user,
        items=[
            ContactInput(name="Young", phone=PHONE, created_at=T0 + timedelta(hours=2)),
            ContactInput(name="Old", phone="202 234 5678", created_at=T0),
        ],
    )
    assert outcomes[0].contact is outcomes[1].contact
    contact = outcomes[1].contact
    assert not contact._state.adding
    stored = Contact.objects.get()
    assert [(f.attname, getattr(contact, f.attname)) for f in Contact._meta.concrete_fields] == [
        (f.attname, getattr(stored, f.attname)) for f in Contact._meta.concrete_fields
    ]
    assert contact.created_by is user


def test_contacts_validate_gives_the_upserts_errors_without_the_database(
    django_assert_num_queries,
):
    items = [
        ContactInput(name="Good", phone=PHONE),
        ContactInput(name="", phone="nonsense", created_at=T0),
        ContactInput(name="Later", phone=PHONE, created_at=timezone.now() + timedelta(days=1)),
    ]
    with django_assert_num_queries(0):
        errors = contacts_validate(items)
    assert set(errors) == {1, 2}
    assert set(errors[1]) == {"name", "phone"}
    assert set(errors[2]) == {"created_at"}
    with pytest.raises(ContactBatchInvalid) as exc:
        contacts_upsert(actor=UserFactory(), items=items)
    assert exc.value.errors == errors


def test_control_characters_are_exactly_unicodes_cc_category():
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        is_control = unicodedata.category(char) == "Cc"
        assert _has_control_chars(f"a{char}b") is is_control, hex(code)
