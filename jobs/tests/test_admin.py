"""Import jobs in the back office: big files of the contacts and DNC imports become jobs,
whose page follows their progress and offers the errors file, cancel and undo."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.models import Contact
from dnc.models import DncEntry
from dnc.services import dnc_list_create
from jobs.imports import import_job_run
from jobs.models import ImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(client, admin_user, settings):
    settings.ADMIN_IMPORT_JOB_ROWS = 3
    client.force_login(admin_user)
    return client


def _contacts_csv(rows: int, bad: bool = False) -> bytes:
    lines = ["name,phone"] + [f"Contact {i},+1 202 555 {100 + i:04d}" for i in range(rows)]
    if bad:
        lines.append("Nobody,12")
    return ("\r\n".join(lines) + "\r\n").encode()


def test_a_big_contacts_file_becomes_a_job_with_a_progress_page(site, admin_user):
    upload = SimpleUploadedFile("big.csv", _contacts_csv(5))
    response = site.post(
        reverse("admin:contacts_contact_import"), {"format": "0", "import_file": upload}
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:jobs_importjob_change", args=[job.pk])
    assert (job.kind, job.created_by, job.filename) == ("contacts", admin_user, "big.csv")
    page = site.get(response["Location"]).content.decode()
    assert "waiting for a worker" in page and 'http-equiv="refresh"' in page

    import_job_run(job.pk)
    page = site.get(response["Location"]).content.decode()
    assert "Succeeded" in page and "5 created" in page and 'http-equiv="refresh"' not in page
    assert "Undo this import" in page
    assert Contact.live.count() == 5

    undone = site.post(reverse("admin:jobs_importjob_undo", args=[job.pk]), follow=True)
    assert "5 deleted" in undone.content.decode()
    assert not Contact.live.exists()
    listing = site.get(reverse("admin:jobs_importjob_changelist")).content.decode()
    assert "big.csv" in listing and "5 created, 0 existing" in listing


def test_a_small_contacts_file_keeps_the_instant_preview(site):
    upload = SimpleUploadedFile("small.csv", _contacts_csv(2))
    response = site.post(
        reverse("admin:contacts_contact_import"), {"format": "0", "import_file": upload}
    )
    assert response.status_code == 200 and "Confirm import" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_preview_names_the_columns_it_leaves_out(site):
    upload = SimpleUploadedFile("x.csv", b"name,phone,Colour,id\r\nAda,+12025550143,red,1\r\n")
    response = site.post(
        reverse("admin:contacts_contact_import"), {"format": "0", "import_file": upload}
    )
    assert "Columns left out (not contact fields):\n    Colour, id." in response.content.decode()


def test_a_failed_job_offers_its_errors_file(site):
    upload = SimpleUploadedFile("bad.csv", _contacts_csv(4, bad=True))
    site.post(reverse("admin:contacts_contact_import"), {"format": "0", "import_file": upload})
    job = ImportJob.objects.get()
    import_job_run(job.pk)
    page = site.get(reverse("admin:jobs_importjob_change", args=[job.pk])).content.decode()
    assert "Failed" in page and "nothing was imported" in page and "Undo this import" not in page
    errors = site.get(reverse("admin:jobs_importjob_errors", args=[job.pk]))
    text = b"".join(errors.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[:2] == ["row,column,code,message,value", text.splitlines()[1]]
    assert text.splitlines()[1].startswith("6,phone,invalid_phone,")


def test_a_running_job_can_be_cancelled_from_its_page(site):
    upload = SimpleUploadedFile("big.csv", _contacts_csv(5))
    site.post(reverse("admin:contacts_contact_import"), {"format": "0", "import_file": upload})
    job = ImportJob.objects.get()
    page = site.get(reverse("admin:jobs_importjob_change", args=[job.pk])).content.decode()
    assert reverse("admin:jobs_importjob_cancel", args=[job.pk]) in page
    site.post(reverse("admin:jobs_importjob_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_a_big_dnc_file_becomes_a_job(site, admin_user):
    dnc_list = dnc_list_create(actor=admin_user, name="Federal", type="federal")
    lines = ["phone"] + [f"+1 202 555 {100 + i:04d}" for i in range(6)]
    upload = SimpleUploadedFile("dnc.csv", ("\n".join(lines) + "\n").encode())
    response = site.post(
        reverse("admin:dnc_dnclist_import", args=[dnc_list.pk]), {"file": upload}, follow=True
    )
    assert "imported in the background" in response.content.decode()
    job = ImportJob.objects.get()
    assert (job.kind, job.dnc_list) == ("dnc", dnc_list)
    import_job_run(job.pk)
    assert DncEntry.objects.filter(list=dnc_list).count() == 6


def test_agents_do_not_see_import_jobs(client, agent):
    agent.is_staff = True
    agent.save()
    client.force_login(agent)
    assert client.get(reverse("admin:jobs_importjob_changelist")).status_code in (302, 403)


def test_a_google_csv_in_the_contacts_import_goes_through_the_mapping_page(site):
    from pathlib import Path

    content = (Path(__file__).parent / "files" / "google.csv").read_bytes()
    upload = SimpleUploadedFile("google.csv", content)
    response = site.post(
        reverse("admin:contacts_contact_import"), {"format": "0", "import_file": upload}
    )
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("admin:jobs_importjob_mapping", args=[job.pk])
    page = site.get(response["Location"])
    html = page.content.decode()
    assert "Phone 1 - Value" in html and "+34 612 34 56 78" in html  # columns and samples
    form = page.context["form"]
    data = {name: field.initial for name, field in form.fields.items() if name != "save_as"}
    data["save_as"] = "Google"
    done = site.post(response["Location"], data)
    assert done["Location"] == reverse("admin:jobs_importjob_change", args=[job.pk])
    import_job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.created) == ("succeeded", 3)
    assert Contact.live.filter(name="María José González").exists()
    page = site.get(reverse("admin:jobs_importjob_change", args=[job.pk])).content.decode()
    assert "Columns left out: " in page and "Phone 1 - Label" in page


def test_the_upload_page_imports_a_call_log_for_an_agent(site, agent):
    from pathlib import Path

    content = (Path(__file__).parent / "files" / "calls.xml").read_bytes()
    page = site.get(reverse("admin:jobs_importjob_add"))
    assert page.status_code == 200 and "SMS Backup" in page.content.decode()
    response = site.post(reverse("admin:jobs_importjob_add"), {
        "kind": "calls", "file": SimpleUploadedFile("calls.xml", content), "user": agent.pk,
        "device_id": "old-phone",
    })  # fmt: skip
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("admin:jobs_importjob_change", args=[job.pk])
    import_job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.created, job.calls_user) == ("succeeded", 5, agent)
    template = site.get(reverse("admin:jobs_importjob_template") + "?kind=calls")
    assert template.content.decode("utf-8-sig").startswith("phone,direction,started_at")


def test_a_preview_with_bad_rows_offers_to_import_the_valid_ones(site):
    # Bob's number lost its "+" in a spreadsheet: 4915123456789 is no number of the default
    # region, +4915123456789 is a German mobile.
    content = b"name,phone\r\nAda,+12025550143\r\nBob,4915123456789\r\nCy,+12025550145\r\n"
    upload = SimpleUploadedFile("p.csv", content)
    preview = site.post(reverse("admin:contacts_contact_import"),
                        {"format": "0", "import_file": upload})  # fmt: skip
    html = preview.content.decode()
    assert "Import the 2 valid rows" in html
    assert "go missing? +4915123456789 is a valid number" in html  # an Excel habit
    assert "<td>3</td>" in html  # Bob is row 3: the header is row 1
    token = preview.context["pending_token"]
    response = site.post(reverse("admin:jobs_importjob_from_preview"), {"pending": token})
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("admin:jobs_importjob_change", args=[job.pk])
    assert job.skip_invalid and job.filename == "p.csv"
    import_job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.created, job.invalid) == ("succeeded", 2, 1)
    again = site.post(reverse("admin:jobs_importjob_from_preview"), {"pending": token}, follow=True)
    assert "expired" in again.content.decode()  # a kept upload is used once
    assert_refused = site.post(reverse("admin:jobs_importjob_from_preview"), {"pending": "../x"})
    assert assert_refused.status_code == 403


def test_the_preview_says_which_record_a_replaced_row_overwrites(site, agent):
    from contacts.tests.factories import make_contact

    make_contact(actor=agent, name="Younger Name", phone="+12025550143")
    content = b"name,phone,created_at\r\nOlder,+12025550143,2001-01-01T00:00:00Z\r\n"
    upload = SimpleUploadedFile("r.csv", content)
    preview = site.post(reverse("admin:contacts_contact_import"),
                        {"format": "0", "import_file": upload})  # fmt: skip
    html = preview.content.decode()
    assert "replaces" in html and "Younger Name (created " in html
