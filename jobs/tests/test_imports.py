"""Import jobs through the API, worked by the worker's own function in this process (the queue
and a real worker process are in test_worker.py): progress, errors file, all-or-nothing and
skip_invalid, dry run, cancel, resume after a dead worker, undo."""

import csv
import io
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from calls.models import CallLog
from contacts.lists import list_create
from contacts.models import Contact
from contacts.services import contact_update
from contacts.tests.factories import make_contact
from crm.tests.helpers import assert_error
from dnc.models import DncEntry
from dnc.services import dnc_entry_delete, dnc_list_create
from jobs import imports
from jobs.imports import import_job_claim, import_job_run, import_job_work
from jobs.models import ImportJob, ImportRow, ImportRowError
from ledger.models import Activity

pytestmark = pytest.mark.django_db

IMPORTS = "/api/v1/imports"


def _csv(*rows) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def _upload(client, content: bytes, name="contacts.csv", kind="contacts", **fields):
    data = {"file": SimpleUploadedFile(name, content), "kind": kind, **fields}
    return client.post(IMPORTS, data, format="multipart")


def _queued(client, content, **fields) -> dict:
    response = _upload(client, content, **fields)
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "pending" and job["phase"] == "queued"
    return job


def _run(client, job: dict) -> dict:
    import_job_run(job["id"])
    response = client.get(f"{IMPORTS}/{job['id']}")
    assert response.status_code == 200
    return response.json()


def _errors(client, job: dict) -> list[dict]:
    response = client.get(f"{IMPORTS}/{job['id']}/errors")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


CONTACTS = _csv(
    ["name", "phone", "email", "tags"],
    ["Ada Lovelace", "+1 202 555 0101", "ada@example.com", "vip"],
    ["Grace Hopper", "+1 202 555 0102", "", ""],
    [],  # a blank line is a row of the spreadsheet, not a contact
    ["Alan Turing", "+44 20 7946 0958", "", "uk, maths"],
)


def test_a_contacts_file_is_imported_by_the_job(manager_client, manager):
    job = _queued(manager_client, CONTACTS)
    assert job["kind"] == "contacts" and job["filename"] == "contacts.csv"
    assert job["size"] == len(CONTACTS) and job["created_by"] == str(manager.pk)
    done = _run(manager_client, job)
    assert done["status"] == "succeeded", done["error"]
    assert (done["progress"], done["total_rows"], done["processed_rows"]) == (100, 3, 3)
    assert (done["created"], done["existing"], done["replaced"], done["invalid"]) == (3, 0, 0, 0)
    assert done["started_at"] and done["finished_at"] and done["undo_until"]
    ada = Contact.live.get(phone_normalized="+12025550101")
    assert (ada.email, ada.tags, ada.created_by_id) == ("ada@example.com", ["vip"], manager.pk)
    assert ImportRow.objects.filter(job_id=job["id"]).count() == 3
    assert Activity.objects.filter(action="contacts.import.run").count() == 1
    assert Activity.objects.filter(action="contacts.contact.created").count() == 3


def test_one_invalid_row_imports_nothing_and_the_errors_file_says_where(manager_client):
    content = _csv(
        ["Name", "Phone", "Created_At"],
        ["Ada", "+1 202 555 0101", ""],
        ["", "+1 202 555 0102", ""],
        ["Bob", "not a number", ""],
        ["Eve", "=cmd|' /C calc'!A0", "yesterday"],
    )
    done = _run(manager_client, _queued(manager_client, content))
    assert done["status"] == "failed"
    assert "3 of 4 rows are invalid; nothing was imported" in done["error"]
    assert done["invalid"] == 3 and done["created"] == 0
    assert not Contact.objects.exists()
    rows = _errors(manager_client, done)
    assert [(r["row"], r["column"], r["code"]) for r in rows] == [
        ("3", "Name", "required"),
        ("4", "Phone", "invalid_phone"),
        ("5", "Phone", "invalid_phone"),
        ("5", "Created_At", "invalid_time"),
    ]  # spreadsheet rows (the header is row 1), columns as the file spells them
    assert rows[1]["value"] == "not a number" and rows[1]["message"]
    assert rows[2]["value"].startswith("'=")  # no spreadsheet runs it


def test_skip_invalid_imports_the_valid_rows(manager_client):
    content = _csv(
        ["name", "phone"], ["Ada", "+1 202 555 0101"], ["Bob", "12"], ["Cy", "+1 202 555 0103"]
    )
    done = _run(manager_client, _queued(manager_client, content, skip_invalid="true"))
    assert done["status"] == "succeeded"
    assert (done["created"], done["invalid"], done["skip_invalid"]) == (2, 1, True)
    assert Contact.live.count() == 2
    assert [(r["row"], r["column"]) for r in _errors(manager_client, done)] == [("3", "phone")]


def test_a_dry_run_counts_and_saves_nothing(manager_client, agent):
    make_contact(actor=agent, name="Already", phone="+12025550101")
    done = _run(manager_client, _queued(manager_client, CONTACTS, dry_run="true"))
    assert done["status"] == "succeeded" and done["dry_run"] is True
    assert (done["created"], done["existing"]) == (2, 1)
    assert Contact.objects.count() == 1
    assert not ImportRow.objects.exists()
    assert_error(manager_client.post(f"{IMPORTS}/{done['id']}/undo"), 409, "not_undoable")


def test_an_xlsx_file_with_date_and_number_cells(manager_client):
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "phone", "created_at"])
    sheet.append(["Ada", 12025550101, timezone.now().replace(tzinfo=None) - timedelta(days=3)])
    sheet.append(["Bob", "+1 202 555 0102", None])
    out = io.BytesIO()
    book.save(out)
    done = _run(manager_client, _queued(manager_client, out.getvalue(), name="book.xlsx"))
    assert done["status"] == "succeeded", done["error"]
    assert done["created"] == 2
    ada = Contact.live.get(phone_normalized="+12025550101")
    assert timezone.now() - ada.created_at > timedelta(days=2)


@pytest.mark.parametrize(
    ("content", "name", "field"),
    [
        (b"\x89PNG", "a.png", "file"),
        (b"", "a.csv", "file"),  # no header at all
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_at_upload(manager_client, content, name, field):
    error = assert_error(_upload(manager_client, content, name=name), 400, "validation_error")
    assert field in error["details"]
    assert not ImportJob.objects.exists()


def test_a_file_not_in_our_columns_waits_for_its_mapping(manager_client):
    job = _queued_or_waiting(manager_client, _csv(["name", "number"], ["Ada", "+1 202 555 0101"]))
    assert (job["status"], job["columns"]) == ("needs_mapping", ["name", "number"])
    assert job["mapping"] == {"name": "name", "number": "phone"}
    assert import_job_run(job["id"]) is None  # not queued: nothing for a worker to do


def _queued_or_waiting(client, content) -> dict:
    response = _upload(client, content)
    assert response.status_code == 202, response.content
    return response.json()


def test_the_upload_checks_kind_and_list(manager_client):
    error = assert_error(_upload(manager_client, CONTACTS, kind="people"), 400)
    assert "kind" in error["details"]
    error = assert_error(
        _upload(manager_client, _csv(["phone"], ["+12025550101"]), kind="dnc"), 400
    )
    assert "list" in error["details"]
    error = assert_error(
        _upload(manager_client, CONTACTS, list="00000000-0000-0000-0000-000000000000"), 400
    )
    assert error["details"] == {"list": ["No such contact list."]}
    assert_error(manager_client.post(IMPORTS, {"kind": "contacts"}, format="json"), 400)
    vcard = _upload(manager_client, b"BEGIN:VCARD", name="a.vcf", kind="dnc")
    assert "kind contacts" in assert_error(vcard, 400)["details"]["file"][0]


def test_a_file_above_the_limit_is_413(manager_client, settings):
    settings.IMPORT_MAX_BYTES = 10
    error = assert_error(_upload(manager_client, CONTACTS), 413, "payload_too_large")
    assert error["details"]["limit"] == 10


@pytest.mark.parametrize("role", ["agent_client", "viewer_client"])
def test_only_managers_and_admins_import(request, role, manager_client):
    client = request.getfixturevalue(role)
    assert_error(_upload(client, CONTACTS), 403)
    job = _queued(manager_client, CONTACTS)
    assert_error(client.get(IMPORTS), 403)
    assert_error(client.get(f"{IMPORTS}/{job['id']}"), 403)
    assert_error(client.post(f"{IMPORTS}/{job['id']}/undo"), 403)


def test_jobs_are_listed_newest_first(manager_client, admin_client):
    first = _queued(manager_client, CONTACTS)
    second = _queued(admin_client, CONTACTS, dry_run="true")
    listed = manager_client.get(IMPORTS).json()
    assert listed["count"] == 2
    assert [j["id"] for j in listed["results"]] == [second["id"], first["id"]]


def test_the_templates_import_as_they_are(manager_client, manager):
    for kind in ("contacts", "dnc", "calls"):
        response = manager_client.get(f"{IMPORTS}/template?kind={kind}")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        assert kind in response["Content-Disposition"]
    content = manager_client.get(f"{IMPORTS}/template?kind=contacts").content
    done = _run(manager_client, _queued(manager_client, content))
    assert (done["status"], done["created"]) == ("succeeded", 1)
    dnc_list = dnc_list_create(actor=manager, name="Company", type="company")
    content = manager_client.get(f"{IMPORTS}/template?kind=dnc").content
    done = _run(manager_client, _queued(manager_client, content, kind="dnc", list=str(dnc_list.pk)))
    assert (done["status"], done["created"]) == ("succeeded", 1), done["error"]
    assert_error(manager_client.get(f"{IMPORTS}/template?kind=people"), 400)


# --- cancel and resume ------------------------------------------------------------------


def test_a_queued_job_is_cancelled_at_once(manager_client):
    job = _queued(manager_client, CONTACTS)
    response = manager_client.post(f"{IMPORTS}/{job['id']}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert import_job_run(job["id"]) is None  # the worker finds it cancelled
    assert not Contact.objects.exists()
    again = manager_client.post(f"{IMPORTS}/{job['id']}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


def test_a_running_job_stops_before_its_next_batch(manager_client, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 1)
    job = _queued(manager_client, CONTACTS, skip_invalid="true")
    claimed = import_job_claim(job["id"])
    answer = manager_client.post(f"{IMPORTS}/{job['id']}/cancel").json()
    assert (answer["status"], answer["cancel_requested"]) == ("running", True)
    assert import_job_work(claimed) == "cancelled"
    done = manager_client.get(f"{IMPORTS}/{job['id']}").json()
    assert (done["status"], done["created"], done["processed_rows"]) == ("cancelled", 1, 1)
    assert 0 < done["progress"] < 100
    assert Contact.live.count() == 1  # the batch before stays, and can be undone
    undone = manager_client.post(f"{IMPORTS}/{job['id']}/undo").json()
    assert undone["undo"]["deleted"] == 1 and not Contact.live.exists()


def test_a_finished_job_cannot_be_cancelled(manager_client):
    done = _run(manager_client, _queued(manager_client, CONTACTS))
    assert_error(manager_client.post(f"{IMPORTS}/{done['id']}/cancel"), 409, "job_finished")


def test_a_job_whose_worker_died_goes_on_after_its_last_committed_batch(
    manager_client, monkeypatch
):
    monkeypatch.setattr(imports, "BATCH_ROWS", 1)
    job = _queued(manager_client, CONTACTS, skip_invalid="true")

    # The first batch committed, then the worker was killed: the job row says so.
    class Killed(BaseException):
        pass

    def die(self):
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(imports._Ticker, "stop_if_cancelled", die)
        with pytest.raises(Killed):
            import_job_run(job["id"])
    assert ImportJob.objects.get(pk=job["id"]).status == "running"
    assert Contact.live.count() == 1

    done = _run(manager_client, job)  # queue's retry (jobs.recover)
    assert done["status"] == "succeeded"
    assert (done["created"], done["existing"], done["processed_rows"]) == (3, 0, 3)
    assert Contact.live.count() == 3
    assert ImportRow.objects.filter(job_id=job["id"]).count() == 3


# --- undo -------------------------------------------------------------------------------


def test_undo_deletes_created_restores_replaced_and_leaves_what_changed_since(
    manager_client, agent
):
    younger = make_contact(actor=agent, name="Younger", phone="+12025550102")
    content = _csv(
        ["name", "phone", "created_at", "company"],
        ["Ada", "+1 202 555 0101", "", ""],
        ["Grace", "+1 202 555 0102", "2001-01-01T00:00:00Z", "Navy"],  # older: replaces
        ["Alan", "+1 202 555 0103", "", ""],
    )
    done = _run(manager_client, _queued(manager_client, content))
    assert (done["created"], done["replaced"]) == (2, 1)
    younger.refresh_from_db()
    assert (younger.name, younger.company) == ("Grace", "Navy")
    alan = Contact.live.get(phone_normalized="+12025550103")
    contact_update(actor=agent, contact=alan, notes="called back")  # changed since

    response = manager_client.post(f"{IMPORTS}/{done['id']}/undo")
    assert response.status_code == 200, response.content
    undone = response.json()
    assert undone["undone_at"]
    assert undone["undo"] == {
        "deleted": 1, "restored": 1, "removed_from_list": 0, "left": 1, "left_ids": [str(alan.pk)],
    }  # fmt: skip
    ada = Contact.objects.get(phone_normalized="+12025550101")
    assert ada.deleted_at is not None and ada.version > 0  # a tombstone for the phones
    younger.refresh_from_db()
    assert (younger.name, younger.company, younger.created_by_id) == ("Younger", "", agent.pk)
    assert Contact.live.filter(pk=alan.pk).exists()
    again = manager_client.post(f"{IMPORTS}/{done['id']}/undo").json()
    assert again["undo"] == undone["undo"] and again["undone_at"] == undone["undone_at"]


def test_undo_takes_contacts_off_the_list_the_job_put_them_on(manager_client, manager, agent):
    known = make_contact(actor=agent, name="Known", phone="+12025550102")
    team = list_create(actor=manager, name="Campaign")
    done = _run(manager_client, _queued(manager_client, CONTACTS, list=str(team.pk)))
    assert done["list"] == str(team.pk)
    assert Contact.live.filter(lists__contains=[team.pk]).count() == 3
    undone = manager_client.post(f"{IMPORTS}/{done['id']}/undo").json()["undo"]
    assert (undone["deleted"], undone["removed_from_list"]) == (2, 1)
    known.refresh_from_db()
    assert known.deleted_at is None and known.lists == []


def test_undo_is_refused_after_seven_days(manager_client):
    done = _run(manager_client, _queued(manager_client, CONTACTS))
    ImportJob.objects.filter(pk=done["id"]).update(finished_at=timezone.now() - timedelta(days=8))
    assert_error(manager_client.post(f"{IMPORTS}/{done['id']}/undo"), 409, "undo_expired")
    assert Contact.live.count() == 3


def test_undo_of_a_failed_job_is_refused(manager_client):
    done = _run(manager_client, _queued(manager_client, _csv(["name", "phone"], ["A", "1"])))
    assert done["status"] == "failed"
    assert_error(manager_client.post(f"{IMPORTS}/{done['id']}/undo"), 409, "not_undoable")


# --- other kinds --------------------------------------------------------------------------


def test_dnc_numbers_go_on_the_list_once_and_undo_removes_them(manager_client, manager):
    dnc_list = dnc_list_create(actor=manager, name="Federal", type="federal")
    content = _csv(["phone", "reason"], ["+1 202 555 0101", "asked"], ["(202) 555-0102", ""])
    job = _queued(manager_client, content, kind="dnc", list=str(dnc_list.pk))
    done = _run(manager_client, job)
    assert (done["status"], done["created"], done["list"]) == ("succeeded", 2, str(dnc_list.pk))
    again = _run(
        manager_client, _queued(manager_client, content, kind="dnc", list=str(dnc_list.pk))
    )
    assert (again["created"], again["existing"]) == (0, 2)  # idempotent per list and number
    undone = manager_client.post(f"{IMPORTS}/{done['id']}/undo").json()
    assert undone["undo"] == {"deleted": 2, "left": 0}
    assert not DncEntry.objects.filter(deleted_at__isnull=True).exists()


def test_dnc_undo_leaves_entries_changed_since(manager_client, manager):
    dnc_list = dnc_list_create(actor=manager, name="Federal", type="federal")
    content = _csv(["phone"], ["+12025550101"], ["+12025550102"], ["+12025550103"])
    done = _run(manager_client, _queued(manager_client, content, kind="dnc", list=str(dnc_list.pk)))
    assert ImportRow.objects.filter(job_id=done["id"]).count() == 1  # one per batch
    removed = DncEntry.objects.get(phone_normalized="+12025550102")
    dnc_entry_delete(actor=manager, entry=removed)
    undone = manager_client.post(f"{IMPORTS}/{done['id']}/undo").json()
    assert undone["undo"] == {"deleted": 2, "left": 1}
    removed.refresh_from_db()
    assert removed.deleted_at is not None


def test_a_dnc_file_with_a_bad_number_adds_none(manager_client, manager):
    dnc_list = dnc_list_create(actor=manager, name="Federal", type="federal")
    content = _csv(
        ["Phone", "expires_at"], ["+12025550101", ""], ["+1 202", ""], ["+12025550103", "soon"]
    )
    done = _run(manager_client, _queued(manager_client, content, kind="dnc", list=str(dnc_list.pk)))
    assert done["status"] == "failed" and not DncEntry.objects.exists()
    assert [(r["row"], r["column"], r["code"]) for r in _errors(manager_client, done)] == [
        ("3", "Phone", "invalid_phone"), ("4", "expires_at", "invalid_time"),
    ]  # fmt: skip


def test_call_history_is_imported_once_for_the_user_named(manager_client, agent):
    content = _csv(
        ["phone", "direction", "started_at", "duration_seconds"],
        ["+1 202 555 0101", "outgoing", "2026-11-30T10:00:00Z", "95"],
        ["+1 202 555 0102", "Missed", "2026-11-30T11:00:00Z", ""],
    )
    fields = {"kind": "calls", "user": agent.email, "device_id": "old-phone"}
    done = _run(manager_client, _queued(manager_client, content, **fields))
    assert (done["status"], done["created"], done["user"]) == ("succeeded", 2, str(agent.pk))
    assert set(CallLog.objects.values_list("user_id", "device_id")) == {(agent.pk, "old-phone")}
    again = _run(manager_client, _queued(manager_client, content, **fields))
    assert (again["created"], again["existing"]) == (0, 2)
    assert CallLog.objects.count() == 2
    assert_error(manager_client.post(f"{IMPORTS}/{done['id']}/undo"), 409, "not_undoable")


def test_call_rows_are_checked_by_the_upload_rules(manager_client):
    content = _csv(
        ["phone", "direction", "started_at"], ["+12025550101", "sideways", "2026-11-30T10:00:00Z"]
    )
    done = _run(manager_client, _queued(manager_client, content, kind="calls"))
    assert done["status"] == "failed"
    assert [(r["row"], r["code"]) for r in _errors(manager_client, done)] == [
        ("2", "invalid_direction")
    ]
    assert ImportRowError.objects.count() == 1


# --- found in review ------------------------------------------------------------------------


def test_a_header_with_spaces_around_its_names_maps(manager_client):
    content = _csv([" Full Name ", "Mobile  "], ["Ada", "+12025550143"])
    job = _queued_or_waiting(manager_client, content)
    assert job["mapping"] == {"Full Name": "name", "Mobile": "phone"}
    manager_client.post(
        f"{IMPORTS}/{job['id']}/mapping", {"mapping": job["mapping"]}, format="json"
    )
    done = _run(manager_client, job)
    assert (done["status"], done["created"]) == ("succeeded", 1), done["error"]


def test_a_nul_character_is_a_clear_refusal(manager_client):
    error = assert_error(_upload(manager_client, b"name,ph\x00one\r\nAda,1\r\n"), 400)
    assert "NUL" in error["details"]["file"][0]
    assert not ImportJob.objects.exists()


def test_an_unreadable_vcard_fails_its_job_with_a_reason(manager_client):
    card = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"FN;CHARSET=bogus;ENCODING=QUOTED-PRINTABLE:A=C3=A7\r\nEND:VCARD\r\n"
    )
    job = _queued(manager_client, card, name="bad.vcf")
    done = _run(manager_client, job)
    assert done["status"] == "failed" and "cannot be read" in done["error"]


def test_undo_takes_a_replaced_contact_off_the_list_too(manager_client, manager, agent):
    younger = make_contact(actor=agent, name="Younger", phone="+12025550102")
    team = list_create(actor=manager, name="Campaign")
    content = _csv(
        ["name", "phone", "created_at"], ["Older", "+12025550102", "2001-01-01T00:00:00Z"]
    )
    done = _run(manager_client, _queued(manager_client, content, list=str(team.pk)))
    assert done["replaced"] == 1
    undone = manager_client.post(f"{IMPORTS}/{done['id']}/undo").json()["undo"]
    assert (undone["restored"], undone["removed_from_list"], undone["left"]) == (1, 1, 0)
    younger.refresh_from_db()
    assert (younger.name, younger.lists) == ("Younger", [])


def test_a_job_that_failed_half_way_can_be_undone(manager_client):
    done = _run(manager_client, _queued(manager_client, CONTACTS))
    ImportJob.objects.filter(pk=done["id"]).update(status="failed", error="the database went away")
    undone = manager_client.post(f"{IMPORTS}/{done['id']}/undo").json()
    assert undone["undo"]["deleted"] == 3


def test_a_dry_run_counts_a_number_repeated_across_batches_as_existing(manager_client, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 1)
    content = _csv(["name", "phone"], ["Ada", "+12025550101"], ["Ada again", "+1 202 555 0101"])
    done = _run(manager_client, _queued(manager_client, content, dry_run="true"))
    assert (done["created"], done["existing"]) == (1, 1)  # as the real import will count them


def test_a_worker_that_lost_its_job_to_another_stops_quietly(manager_client):
    job = _queued(manager_client, CONTACTS)
    claimed = import_job_claim(job["id"])
    ImportJob.objects.filter(pk=job["id"]).update(checkpoint_row=99)  # another worker went on
    assert import_job_work(claimed) == "running"
    assert not Contact.objects.exists()


def test_uploaded_files_are_deleted_a_week_after_their_job(manager_client):
    done = _run(manager_client, _queued(manager_client, CONTACTS))
    job = ImportJob.objects.get(pk=done["id"])
    path = job.file.path
    assert imports.import_files_purge() == 0  # not yet
    ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=8))
    assert imports.import_files_purge() == 1
    job.refresh_from_db()
    assert not job.file and not os.path.exists(path)
    assert manager_client.get(f"{IMPORTS}/{job.pk}").json()["created"] == 3  # the job stays


def test_kept_preview_uploads_are_deleted_after_a_day(settings):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    path = default_storage.save(f"{imports.PENDING}0000/x.csv", ContentFile(b"name,phone\r\n"))
    assert imports.import_files_purge() == 0  # kept for a day
    assert imports.import_files_purge(now=timezone.now() + timedelta(days=2)) == 1
    assert not default_storage.exists(path)
