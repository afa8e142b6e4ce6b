"""Files from where a team's contacts and calls are today: Google and Outlook CSV (column mapping
proposed from the header), vCard files, the call log of SMS Backup & Restore. Each imports with
the proposed mapping and no hand editing, and importing it again changes nothing."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from calls.models import CallLog
from contacts.custom_fields import custom_field_create
from contacts.models import Contact
from crm.tests.helpers import assert_error
from jobs.imports import import_job_run
from jobs.mapping import mapping_propose
from jobs.models import ImportMapping

pytestmark = pytest.mark.django_db

IMPORTS = "/api/v1/imports"
FILES = Path(__file__).parent / "files"


def _upload(client, name: str, content: bytes | None = None, **fields):
    content = (FILES / name).read_bytes() if content is None else content
    data = {"file": SimpleUploadedFile(name, content), "kind": "contacts", **fields}
    response = client.post(IMPORTS, data, format="multipart")
    assert response.status_code == 202, response.content
    return response.json()


def _run(client, job: dict) -> dict:
    import_job_run(job["id"])
    done = client.get(f"{IMPORTS}/{job['id']}").json()
    assert done["status"] == "succeeded", done
    return done


def _confirm(client, job: dict, **body) -> dict:
    response = client.post(
        f"{IMPORTS}/{job['id']}/mapping", {"mapping": job["mapping"], **body}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    return response.json()


def test_a_google_contacts_csv_gets_its_mapping_proposed_and_imports(manager_client):
    job = _upload(manager_client, "google.csv")
    assert job["status"] == "needs_mapping"
    mapping = job["mapping"]
    assert {h for h, t in mapping.items() if t == "name"} == {
        "First Name",
        "Middle Name",
        "Last Name",
    }
    assert {h for h, t in mapping.items() if t == "phone"} == {"Phone 1 - Value", "Phone 2 - Value"}
    assert (mapping["Organization Name"], mapping["Organization Title"]) == ("company", "title")
    assert (mapping["Labels"], mapping["Notes"], mapping["E-mail 1 - Value"]) == (
        "tags",
        "notes",
        "email",
    )
    assert mapping["Phone 1 - Label"] == "ignore" and "Phone 1 - Label" in job["ignored_columns"]
    assert "Address 1 - Formatted" in job["ignored_columns"]

    done = _run(manager_client, _confirm(manager_client, job, save_as="Google contacts"))
    assert (done["created"], done["invalid"]) == (3, 0)
    maria = Contact.live.get(phone_normalized="+34612345678")
    assert maria.name == "María José González"
    assert (maria.email, maria.company, maria.title) == (
        "maria@acme.example",
        "Acme Iberia",
        "Buyer",
    )
    assert maria.tags == ["Customers", "VIP"]  # Google's own "* myContacts" is no tag
    assert maria.notes == (
        "Met at the fair\nOther numbers: +34 912 34 56 78\nOther emails: mj@home.example"
    )
    tom = Contact.live.get(name="Tom Baker")  # his first number is not one: the second is his
    assert (tom.phone_normalized, tom.notes) == ("+12025550143", "Other numbers: 12")

    versions = dict(Contact.objects.values_list("pk", "version"))
    again = _run(
        manager_client, _upload(manager_client, "google.csv", mapping_name="google CONTACTS")
    )
    assert (again["created"], again["existing"], again["replaced"]) == (0, 3, 0)
    assert dict(Contact.objects.values_list("pk", "version")) == versions  # nothing changed


def test_an_outlook_csv_gets_its_mapping_proposed_and_imports(manager_client):
    job = _upload(manager_client, "outlook.csv")
    assert job["status"] == "needs_mapping"
    mapping = job["mapping"]
    assert mapping["Title"] == "ignore"  # Outlook's Title is "Dr.", its job title "Job Title"
    assert (mapping["Job Title"], mapping["Company"], mapping["Categories"]) == (
        "title",
        "company",
        "tags",
    )
    assert mapping["E-mail Address"] == "email" and mapping["Business Phone"] == "phone"
    done = _run(manager_client, _confirm(manager_client, job))
    assert done["created"] == 2
    juergen = Contact.live.get(phone_normalized="+493012345678")  # the first valid number
    assert (juergen.name, juergen.title, juergen.tags) == (
        "Jürgen Müller",
        "Einkauf",
        ["Kunde", "Berlin"],
    )
    assert juergen.notes == "Prefers email\nOther numbers: +49 151 23456789"
    again = _run(
        manager_client, _upload(manager_client, "outlook.csv", mapping=_json(job["mapping"]))
    )
    assert (again["created"], again["existing"]) == (0, 2)


def _json(value) -> str:
    import json

    return json.dumps(value)


def test_a_multi_card_vcard_file_imports_without_a_mapping_step(manager_client):
    job = _upload(manager_client, "contacts.vcf")
    assert job["status"] == "pending" and job["ignored_columns"] == []
    done = _run(manager_client, job)
    assert (done["created"], done["invalid"]) == (3, 0)
    joao = Contact.live.get(phone_normalized="+351912345678")  # the PREF number
    assert (joao.name, joao.email) == ("João Gonçalves", "joao@example.pt")
    assert joao.notes == "Other numbers: +351 212 345 678"
    ada = Contact.live.get(name="Ada Lovelace")
    assert (ada.company, ada.title, ada.tags, ada.notes) == (
        "Analytical Engines Ltd", "Countess", ["vip", "customer"], "Met at the, fair",
    )  # fmt: skip
    assert Contact.live.filter(name="Grace Hopper", phone_normalized="+12025550199").exists()
    again = _run(manager_client, _upload(manager_client, "contacts.vcf"))
    assert (again["created"], again["existing"]) == (0, 3)


def test_a_phone_call_log_backup_imports_once_for_the_user_named(manager_client, agent):
    fields = {"kind": "calls", "user": str(agent.pk), "device_id": "old-pixel"}
    done = _run(manager_client, _upload(manager_client, "calls.xml", **fields))
    assert (done["created"], done["invalid"]) == (5, 0)
    calls = CallLog.objects.order_by("started_at")
    assert [c.direction for c in calls] == ["outgoing", "missed", "incoming", "rejected", "missed"]
    assert [c.duration_seconds for c in calls][:3] == [95, 0, 310]
    assert calls[0].started_at.isoformat() == "2026-11-30T11:00:00+00:00"
    assert {(c.user_id, c.device_id) for c in calls} == {(agent.pk, "old-pixel")}
    again = _run(manager_client, _upload(manager_client, "calls.xml", **fields))
    assert (again["created"], again["existing"]) == (0, 5)
    assert CallLog.objects.count() == 5


def test_a_call_log_csv_with_its_own_headers_is_mapped(manager_client):
    content = b"Number,Type,Date,Duration\r\n+12025550143,outgoing,2026-11-30T10:00:00Z,42\r\n"
    job = _upload(manager_client, "log.csv", content, kind="calls")
    assert job["status"] == "needs_mapping"
    assert job["mapping"] == {"Number": "phone", "Type": "direction", "Date": "started_at",
                              "Duration": "duration_seconds"}  # fmt: skip
    done = _run(manager_client, _confirm(manager_client, job))
    assert done["created"] == 1 and CallLog.objects.get().duration_seconds == 42


def test_a_bad_mapping_is_refused_and_the_job_keeps_waiting(manager_client):
    job = _upload(manager_client, "google.csv")
    url = f"{IMPORTS}/{job['id']}/mapping"
    error = assert_error(
        manager_client.post(url, {"mapping": {"Nope": "name", "Labels": "colour"}}, format="json"),
        400,
        "validation_error",
    )
    problems = " ".join(error["details"]["mapping"])
    assert "no column 'Nope'" in problems and "'colour' is not one of" in problems
    assert "No column is mapped to phone" in problems
    assert manager_client.get(f"{IMPORTS}/{job['id']}").json()["status"] == "needs_mapping"
    _confirm(manager_client, job)
    assert_error(manager_client.post(url, {"mapping": job["mapping"]}, format="json"), 409,
                 "job_not_waiting")  # fmt: skip


def test_an_unknown_saved_mapping_is_a_400(manager_client):
    content = (FILES / "google.csv").read_bytes()
    data = {"file": SimpleUploadedFile("g.csv", content), "kind": "contacts", "mapping_name": "x"}
    error = assert_error(manager_client.post(IMPORTS, data, format="multipart"), 400)
    assert "mapping_name" in error["details"]


def test_the_errors_file_names_the_columns_as_the_file_does(manager_client):
    content = b"Full Name,Mobile\r\nAda,+12025550143\r\n,not a number\r\n"
    job = _upload(manager_client, "people.csv", content)
    assert job["mapping"] == {"Full Name": "name", "Mobile": "phone"}
    _confirm(manager_client, job)
    import_job_run(job["id"])
    errors = manager_client.get(f"{IMPORTS}/{job['id']}/errors")
    lines = b"".join(errors.streaming_content).decode("utf-8-sig").splitlines()
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["3", "Full Name", "required"], ["3", "Mobile", "invalid_phone"],
    ]  # fmt: skip


def test_headers_are_guessed_in_several_languages(admin_user):
    custom_field_create(actor=admin_user, key="budget", label="Budget", type="number")
    proposal = mapping_propose(
        ["Nombre", "Teléfono", "Correo electrónico", "Société", "Notizen", "Etiquetas",
         "budget", "Colour"],
        "contacts",
    )  # fmt: skip
    assert list(proposal.values()) == [
        "name", "phone", "email", "company", "notes", "tags", "custom_fields.budget", "ignore",
    ]  # fmt: skip


def test_saved_mappings_are_listed(manager_client):
    job = _upload(manager_client, "outlook.csv")
    _confirm(manager_client, job, save_as="Outlook")
    listed = manager_client.get(f"{IMPORTS}/mappings").json()
    assert [(m["name"], m["kind"]) for m in listed] == [("Outlook", "contacts")]
    assert "Title" not in listed[0]["mapping"]  # only what is mapped is kept
    _confirm(manager_client, _upload(manager_client, "outlook.csv"), save_as="outlook")
    assert ImportMapping.objects.count() == 1  # the same name again replaces it


def test_contacts_export_as_vcards(manager_client, agent):
    from contacts.services import contact_update
    from contacts.tests.factories import make_contact

    ada = make_contact(actor=agent, name="Ada King Lovelace", phone="+12025550143")
    contact_update(actor=agent, contact=ada, email="ada@example.com", tags=["vip", "a,b"])
    response = manager_client.get("/api/v1/contacts/export?format=vcf")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/vcard")
    text = b"".join(response.streaming_content).decode()
    assert "FN:Ada King Lovelace\r\n" in text and "N:Lovelace;Ada King;;;\r\n" in text
    assert "TEL;TYPE=CELL:+12025550143\r\n" in text and "CATEGORIES:vip,a\\,b\r\n" in text
    assert f"UID:{ada.pk}\r\n" in text
    job = _upload(manager_client, "book.vcf", text.encode())
    assert _run(manager_client, job)["existing"] == 1  # an export imports back as it is
