"""Contacts import: the admin's preview/confirm and `manage.py import_contacts`."""

import csv
import io
from datetime import UTC, datetime
from http import HTTPStatus

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from import_export.tmp_storages import CacheStorage

from accounts.tests.factories import UserFactory
from contacts.models import Contact
from contacts.resources import PreviewNumbers
from contacts.services import ContactInput
from contacts.tests.factories import make_contact, next_phone
from ledger.models import Activity

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:contacts_contact_import")
PROCESS = reverse("admin:contacts_contact_process_import")
TEMPLATE = reverse("admin:contacts_contact_import_template")
EXPORT = reverse("admin:contacts_contact_export")
CSV_FORMAT, XLSX_FORMAT = "0", "1"
HEADER = ["name", "phone", "created_at", "created_by_email"]
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def site(client, admin_user):
    client.force_login(admin_user)
    return client


def csv_bytes(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(site, content: bytes, name="contacts.csv", file_format=CSV_FORMAT):
    return site.post(
        IMPORT, {"format": file_format, "import_file": SimpleUploadedFile(name, content)}
    )


def confirm(site, preview):
    return site.post(PROCESS, preview.context["confirm_form"].initial, follow=True)


def names_by_phone() -> dict[str, str]:
    return dict(Contact.live.values_list("phone_normalized", "name"))


# --- the admin: preview, then confirm ----------------------------------------------------------


def test_it_previews_without_saving_then_imports_on_confirm(site, admin_user):
    content = csv_bytes(
        [
            ["Ada", "+1 202 234 5678", "", ""],
            ["Bob", "(202) 200-0001", "2024-05-01T09:30:00Z", ""],
        ]
    )
    preview = upload(site, content)
    assert preview.status_code == HTTPStatus.OK
    result = preview.context["result"]
    assert [row.outcome for row in result.rows] == ["created", "created"]
    assert "confirm_form" in preview.context
    assert not Contact.objects.exists()
    assert not Activity.objects.exists()

    response = confirm(site, preview)
    assert response.status_code == HTTPStatus.OK
    assert names_by_phone() == {"+12022345678": "Ada", "+12022000001": "Bob"}
    bob = Contact.objects.get(name="Bob")
    assert bob.created_at == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    assert bob.created_by == admin_user
    assert Activity.objects.filter(action="contacts.contact.created", actor=admin_user).count() == 2
    run_record = Activity.objects.get(action="contacts.import.run")
    assert (run_record.actor, run_record.changes["created"]) == (admin_user, 2)
    assert "Imported 2 rows: 2 created" in response.content.decode()


def test_it_shows_each_bad_row_with_its_number_and_imports_nothing(site):
    content = csv_bytes(
        [
            ["Good", "+12022345678", "", ""],
            ["Bad phone", "12", "", ""],
            ["", "+12022000001", "", ""],
            ["Future", "+12022000002", "2999-01-01T00:00:00Z", ""],
            ["Stranger", "+12022000003", "", "nobody@example.com"],
            ["Bad time", "+12022000004", "yesterday", ""],
        ]
    )
    preview = upload(site, content)
    assert preview.status_code == HTTPStatus.OK
    assert "confirm_form" not in preview.context
    # Rows as a spreadsheet numbers them: the header is row 1.
    invalid = {row.number: row.error_dict for row in preview.context["result"].invalid_rows}
    assert set(invalid) == {3, 4, 5, 6, 7}
    assert set(invalid[3]) == {"phone"}
    assert set(invalid[4]) == {"name"}
    assert set(invalid[5]) == {"created_at"}
    assert invalid[6] == {"created_by_email": ["No user with the email nobody@example.com."]}
    assert set(invalid[7]) == {"created_at"}
    html = preview.content.decode()
    assert "5 rows cannot be imported" in html
    assert "A name is required." in html
    assert not Contact.objects.exists()


def test_a_row_can_show_several_reasons(site):
    preview = upload(site, csv_bytes([["", "12", "not a date", "nobody@example.com"]]))
    (row,) = preview.context["result"].invalid_rows
    assert set(row.error_dict) == {"name", "phone", "created_at", "created_by_email"}


def test_the_older_row_wins_inside_the_file_and_against_the_book(site):
    make_contact(name="Book, younger", phone="+12022345678", created_at=T0)
    make_contact(name="Book, older", phone="+12022000001", created_at=T0)
    content = csv_bytes(
        [
            ["File, 2024", "+12022345678", "2024-01-01T00:00:00Z", ""],
            ["File, 2023", "202 234 5678", "2023-01-01T00:00:00Z", ""],
            ["File, newer", "+12022000001", "2025-06-01T00:00:00Z", ""],
            ["First", "+12022000002", "2024-01-01T00:00:00Z", ""],
            ["Second, same age", "+12022000002", "2024-01-01T00:00:00Z", ""],
        ]
    )
    preview = upload(site, content)
    outcomes = [row.outcome for row in preview.context["result"].rows]
    assert outcomes == ["existing", "replaced", "existing", "created", "existing"]
    confirm(site, preview)
    assert names_by_phone() == {
        "+12022345678": "File, 2023",
        "+12022000001": "Book, older",
        "+12022000002": "First",
    }
    assert Contact.objects.count() == 3


def test_it_sets_the_creator_from_created_by_email(site):
    carol = UserFactory(email="carol@example.com")
    preview = upload(site, csv_bytes([["Ada", "+12022345678", "", "Carol@Example.com"]]))
    confirm(site, preview)
    assert Contact.objects.get().created_by == carol


def test_it_imports_xlsx_with_number_and_date_cells(site):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["Ada", 12022345678, datetime(2024, 5, 1, 9, 30), None])
    sheet.append([None, None, None, None])  # a formatted but empty row is not a contact
    sheet.append(["Bob", "+1 202 200 0001", "2024-05-01T09:30:00+02:00", None])
    out = io.BytesIO()
    book.save(out)
    preview = upload(site, out.getvalue(), name="contacts.xlsx", file_format=XLSX_FORMAT)
    assert [row.number for row in preview.context["result"].rows] == [2, 4]
    confirm(site, preview)
    ada = Contact.objects.get(name="Ada")
    assert ada.phone_normalized == "+12022345678"
    assert ada.created_at == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    bob = Contact.objects.get(name="Bob")
    assert bob.created_at == datetime(2024, 5, 1, 7, 30, tzinfo=UTC)


def test_a_file_without_the_required_columns_goes_to_its_column_mapping(site):
    # Once refused ("the file has no name or phone column"); now the columns are mapped first.
    from jobs.models import ImportJob

    response = upload(site, csv_bytes([["Ada", "x"]], header=["full name", "email"]))
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:jobs_importjob_mapping", args=[job.pk])
    assert (job.status, job.mapping) == ("needs_mapping", {"full name": "name", "email": "email"})


def test_the_confirm_step_imports_the_whole_file_or_nothing(site):
    # A file that changed meaning after its preview (here: a hand-made one) is refused whole.
    storage = CacheStorage(encoding="utf-8-sig", read_mode="r")  # as configured in settings
    storage.save(csv_bytes([["Good", "+12022345678", "", ""], ["Bad", "12", "", ""]]))
    # The confirm step removes the uploaded copy itself.
    response = site.post(
        PROCESS,
        {
            "import_file_name": storage.name,
            "original_file_name": "contacts.csv",
            "format": CSV_FORMAT,
            "resource": "",
        },
    )
    assert response.status_code == HTTPStatus.OK
    assert [row.number for row in response.context["result"].invalid_rows] == [3]
    assert "Nothing was imported." in response.content.decode()
    assert not Contact.objects.exists()


def test_the_template_and_an_export_can_be_imported_back(site, admin_user):
    preview = upload(site, site.get(TEMPLATE).content)
    confirm(site, preview)
    assert Contact.objects.get().name == "Ada Lovelace"

    data = {"format": CSV_FORMAT, "resource": "0"}
    data.update(
        {
            f"contactresource_{name}": "on"
            for name in ("id", "name", "phone", "phone_normalized", "created_at")
        }
    )
    data["contactresource_created_by_email"] = "on"
    data["contactresource_version"] = "on"
    exported = b"".join(site.post(EXPORT, data).streaming_content)
    preview = upload(site, exported)
    assert [row.outcome for row in preview.context["result"].rows] == ["existing"]


def test_preview_and_confirm_run_a_constant_number_of_queries(site):
    def queries_for(rows: int) -> tuple[int, int]:
        content = csv_bytes([[f"Name {n}", next_phone(), "", ""] for n in range(rows)])
        with CaptureQueriesContext(connection) as preview_queries:
            preview = upload(site, content)
        with CaptureQueriesContext(connection) as confirm_queries:
            confirm(site, preview)
        return len(preview_queries), len(confirm_queries)

    small = queries_for(5)
    assert queries_for(15) == small
    assert Contact.objects.count() == 20


# --- manage.py import_contacts -----------------------------------------------------------------


def write_csv(tmp_path, rows, header=HEADER):
    path = tmp_path / "contacts.csv"
    path.write_bytes(csv_bytes(rows, header))
    return path


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_contacts", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_imports_a_file_in_batches(tmp_path, admin_user):
    rows = [[f"Name {n}", next_phone(), "", ""] for n in range(7)]
    out, _ = run(write_csv(tmp_path, rows), "--as", admin_user.email, "--batch-size", "3")
    assert Contact.live.count() == 7
    assert "Imported 7 rows" in out
    assert "created 7, existing 0, replaced 0, errors 0" in out
    assert "rows/s" in out
    assert Activity.objects.filter(action="contacts.contact.created", actor=admin_user).count() == 7
    [run_record] = Activity.objects.filter(action="contacts.import.run")
    assert run_record.changes["created"] == 7 and "contacts.csv" in run_record.changes["source"]


def test_the_command_defaults_to_the_first_admin(tmp_path, admin_user):
    run(write_csv(tmp_path, [["Ada", "+12022345678", "", ""]]))
    assert Contact.objects.get().created_by == admin_user


def test_the_command_imports_nothing_when_a_later_batch_has_a_bad_row(tmp_path, admin_user):
    rows = [[f"Name {n}", next_phone(), "", ""] for n in range(7)]
    rows[5][1] = "12"
    rows[6][0] = ""
    path = write_csv(tmp_path, rows)
    with pytest.raises(CommandError, match="2 of 7 rows are invalid; nothing was imported"):
        out, err = io.StringIO(), io.StringIO()
        call_command("import_contacts", str(path), "--batch-size", "2", stdout=out, stderr=err)
    assert not Contact.objects.exists()
    listed = err.getvalue()
    assert "row 6 (line 7): phone:" in listed
    assert "row 7 (line 8): name: A name is required." in listed


def test_the_command_keeps_the_older_row_of_a_repeated_number(tmp_path, admin_user):
    rows = [
        ["Younger", "+12022345678", "2024-06-01T00:00:00Z", ""],
        ["Other", "+12022000001", "", ""],
        ["Older", "202 234 5678", "2024-01-01T00:00:00Z", ""],
        ["Youngest", "(202) 234-5678", "2024-09-01T00:00:00Z", ""],
    ]
    # Batches of one: the repeat meets the first row in the database, not in its batch.
    out, _ = run(write_csv(tmp_path, rows), "--batch-size", "1")
    assert names_by_phone() == {"+12022345678": "Older", "+12022000001": "Other"}
    assert "created 2, existing 1, replaced 1, errors 0" in out


def test_the_command_dry_run_saves_nothing(tmp_path, admin_user):
    make_contact(name="Known", phone="+12022345678", created_at=T0)
    rows = [["Known again", "+12022345678", "", ""], ["New", "+12022000001", "", ""]]
    out, _ = run(write_csv(tmp_path, rows), "--dry-run")
    assert "Dry run, nothing was saved" in out
    assert "created 1, existing 1, replaced 0, errors 0" in out
    assert names_by_phone() == {"+12022345678": "Known"}


def test_the_command_rejects_a_file_without_the_columns(tmp_path, admin_user):
    path = write_csv(tmp_path, [["Ada"]], header=["full name"])
    with pytest.raises(CommandError, match="no name or phone column"):
        run(path)


def test_the_command_rejects_an_unknown_importing_user(tmp_path, admin_user):
    path = write_csv(tmp_path, [["Ada", "+12022345678", "", ""]])
    with pytest.raises(CommandError, match="No active user"):
        run(path, "--as", "nobody@example.com")


def test_a_bad_row_15001_of_20000_imports_nothing(tmp_path, admin_user):
    rows = [
        [f"Name {n}", f"+1202{300 + n // 10000:03d}{n % 10000:04d}", "", ""] for n in range(20_000)
    ]
    rows[15_000][1] = "not a number"
    with pytest.raises(CommandError, match="1 of 20000 rows are invalid"):
        out, err = io.StringIO(), io.StringIO()
        call_command(
            "import_contacts", str(write_csv(tmp_path, rows)), stdout=out, stderr=err, verbosity=0
        )
    assert "row 15001" in err.getvalue()
    assert not Contact.objects.exists()


# --- what the faster write path must keep -------------------------------------------------------


ODD_NAMES = [
    "Back\\slash \\N \\t \\\\ O'Brien",  # COPY's escape and NULL markers as plain text
    'Zoë "Quotes" Ünal, Jr.',
    "李小龍 🙂 Ñandú",
    "Tab-free\\nbut \\r backslashed",
]


def test_the_command_stores_odd_names_and_numbers_exactly(tmp_path, admin_user):
    rows = [[name, next_phone(), "", ""] for name in ODD_NAMES]
    rows.append(["Inner tab in the number", "+1 202 234 5678\tx12", "", ""])  # kept as entered
    run(write_csv(tmp_path, rows))
    stored = {c.phone_normalized: c for c in Contact.live.all()}
    assert len(stored) == len(rows)
    for name, phone, *_ in rows[:-1]:
        contact = stored[phone]
        assert contact.name == name
        assert contact.phone == phone
    assert stored["+12022345678"].phone == "+1 202 234 5678\tx12"
    assert stored["+12022345678"].name_search == "inner tab in the number"
    assert stored[rows[2][1]].name_search == "李小龍 🙂 nandu"
    # The history rows carry the same text, in the repr and in the changes.
    for contact in stored.values():
        activity = Activity.objects.get(action="contacts.contact.created", object_id=contact.pk)
        assert activity.object_repr == str(contact)
        assert activity.object_type == "contact"
        assert activity.changes == {
            "name": [None, contact.name],
            "phone": [None, contact.phone_normalized],
        }
        assert activity.actor == admin_user


def test_the_command_check_lists_every_bad_row_without_reading_contacts(tmp_path, admin_user):
    rows = [[f"Name {n}", next_phone(), "", ""] for n in range(9)]
    rows[0][1] = "12"  # first batch
    rows[4][0] = "bad\x07name"  # second batch
    rows[4][2] = "2999-01-01T00:00:00Z"
    rows[8][3] = "nobody@example.com"  # last, short batch
    path = write_csv(tmp_path, rows)
    with CaptureQueriesContext(connection) as queries, pytest.raises(CommandError, match="3 of 9"):
        call_command(
            "import_contacts",
            str(path),
            "--batch-size",
            "4",
            stdout=io.StringIO(),
            stderr=(err := io.StringIO()),
        )
    listed = err.getvalue()
    assert "row 1 (line 2): phone:" in listed
    assert "row 5 (line 6): name: The name contains control characters.; created_at:" in listed
    assert "row 9 (line 10): created_by_email: No user with the email nobody@example.com." in listed
    # Validity does not depend on the contact book: the check pass never reads it.
    assert not [q["sql"] for q in queries if "contacts_contact" in q["sql"]]
    assert not Contact.objects.exists()


def test_the_command_builds_no_contact_instances_to_import(tmp_path, admin_user, monkeypatch):
    rows = [[f"Name {n}", next_phone(), "", ""] for n in range(5)]
    path = write_csv(tmp_path, rows)

    def no_instances(self, *args, **kwargs):
        raise AssertionError("a Contact instance was built")

    monkeypatch.setattr(Contact, "__init__", no_instances)
    out, _ = run(path)
    monkeypatch.undo()
    assert "created 5, existing 0, replaced 0, errors 0" in out
    assert Contact.live.count() == 5


def test_the_command_records_what_a_replacement_changed(tmp_path, admin_user):
    bea = UserFactory(email="bea@example.com")
    younger = make_contact(name="Younger", phone="+12022345678", created_at=T0)
    rows = [["Older", "202-234-5678", "2024-01-01T00:00:00Z", "bea@example.com"]]
    out, _ = run(write_csv(tmp_path, rows))
    assert "created 0, existing 0, replaced 1, errors 0" in out
    contact = Contact.objects.get()
    assert contact.pk == younger.pk
    assert (contact.name, contact.name_search, contact.created_by) == ("Older", "older", bea)
    assert contact.phone == younger.phone  # the number as first entered stays
    assert contact.version > younger.version
    activity = Activity.objects.get(action="contacts.contact.replaced")
    assert activity.object_id == str(contact.pk)
    assert activity.object_repr == str(contact)
    assert activity.actor == admin_user
    assert activity.changes == {
        "name": ["Younger", "Older"],
        "created_by": [str(younger.created_by_id), str(bea.pk)],
        "created_at": [T0.isoformat(), "2024-01-01T00:00:00+00:00"],
    }


def test_imported_contacts_reach_the_sync_feed_with_one_version_per_batch(tmp_path, admin_user):
    before = make_contact(name="Before")
    rows = [[f"Name {n}", next_phone(), "", ""] for n in range(5)]
    run(write_csv(tmp_path, rows), "--batch-size", "2")
    imported = Contact.objects.exclude(pk=before.pk).order_by()
    versions = sorted(imported.values_list("version", flat=True).distinct())
    assert len(versions) == 3
    assert versions[0] > before.version


def test_the_preview_shows_each_rows_number_and_contact(site):
    make_contact(name="Kept", phone="+12022345678", created_at=T0)
    content = csv_bytes(
        [["New \\N one", "(202) 200-0001", "", ""], ["Later", "202 234 5678", "", ""]]
    )
    preview = upload(site, content)
    html = preview.content.decode()
    assert "+12022000001" in html and "New \\N one (+12022000001)" in html
    assert "Kept (+12022345678)" in html
    rows = preview.context["result"].rows
    assert [(r.outcome, r.object_repr) for r in rows] == [
        ("created", "New \\N one (+12022000001)"),
        ("existing", "Kept (+12022345678)"),
    ]
    assert rows[1].instance.pk == Contact.objects.get().pk


def test_the_confirm_step_reuses_the_previews_numbers(site, monkeypatch):
    content = csv_bytes([["Ada", "+1 202 234 5678", "", ""], ["Bob", "(202) 200-0001", "", ""]])
    preview = upload(site, content)
    memo = PreviewNumbers(
        [ContactInput(name="", phone=p) for p in ("+1 202 234 5678", "(202) 200-0001")]
    )
    assert memo.get() == {"+1 202 234 5678": "+12022345678", "(202) 200-0001": "+12022000001"}

    def no_parsing(raw, **kwargs):
        raise AssertionError(f"{raw} was parsed again")

    monkeypatch.setattr("contacts.services.phone_normalize", no_parsing)
    confirm(site, preview)
    assert names_by_phone() == {"+12022345678": "Ada", "+12022000001": "Bob"}
    assert memo.get() is None  # used once


def test_the_confirm_step_parses_numbers_the_preview_did_not_see(site):
    upload(site, csv_bytes([["Good", "+12022345678", "", ""], ["Other", "+12022000001", "", ""]]))
    # The same rows but one number changed after the preview: nothing of the memo applies.
    storage = CacheStorage(encoding="utf-8-sig", read_mode="r")
    storage.save(csv_bytes([["Good", "+12022345678", "", ""], ["Other", "12", "", ""]]))
    response = site.post(
        PROCESS,
        {
            "import_file_name": storage.name,
            "original_file_name": "contacts.csv",
            "format": CSV_FORMAT,
            "resource": "",
        },
    )
    assert [row.number for row in response.context["result"].invalid_rows] == [3]
    assert not Contact.objects.exists()
