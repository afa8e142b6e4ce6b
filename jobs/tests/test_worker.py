"""A real worker process works the queue of the test database (procrastinate's tables there,
made by the migrations)."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from contacts.models import Contact
from crm.tests.processes import worker_once
from dnc.models import DncEntry
from dnc.services import DncEntryInput, dnc_entries_add, dnc_list_create
from jobs.queue import enqueue
from jobs.tasks import dnc_expire, jobs_recover

pytestmark = pytest.mark.django_db(transaction=True)  # the worker must see committed rows


def test_a_worker_runs_the_expiry_job_it_finds_on_the_queue(admin_user):
    dnc_list = dnc_list_create(actor=admin_user, name="Company", type="company")
    ((entry, _),) = dnc_entries_add(actor=admin_user, items=[
        DncEntryInput(list=dnc_list.pk, phone="+12025550100",
                      expires_at=timezone.now() + timedelta(hours=1)),
    ])  # fmt: skip
    DncEntry.objects.filter(pk=entry.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    job_id = enqueue(dnc_expire, timestamp=0)

    result = worker_once()
    assert result.returncode == 0, result.stderr[-2000:]
    entry.refresh_from_db()
    assert entry.expired and entry.version > 0  # phones get its tombstone
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id])
        assert cursor.fetchone() == ("succeeded",), result.stderr[-3000:]


def test_a_job_whose_worker_died_is_run_again(admin_user):
    job_id = enqueue(dnc_expire, timestamp=0)
    with connection.cursor() as cursor:
        # A worker took the job, then its process was killed: no heartbeat for ten minutes.
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '10 minutes') RETURNING id"
        )
        (dead,) = cursor.fetchone()
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
            [dead, job_id],
        )
    enqueue(jobs_recover, timestamp=0)  # the minute's recovery (periodic in production)
    result = worker_once()
    assert result.returncode == 0, result.stderr[-2000:]
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id])
        assert cursor.fetchone() == ("succeeded",), result.stderr[-3000:]


def test_a_worker_imports_an_uploaded_file(manager_client):
    rows = "".join(f"Contact {i},+1 202 555 {i:04d}\r\n" for i in range(100, 350))
    upload = SimpleUploadedFile("book.csv", ("name,phone\r\n" + rows).encode())
    response = manager_client.post(
        "/api/v1/imports", {"file": upload, "kind": "contacts"}, format="multipart"
    )
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]

    result = worker_once()
    assert result.returncode == 0, result.stderr[-2000:]
    job = manager_client.get(f"/api/v1/imports/{job_id}").json()
    assert (job["status"], job["created"], job["progress"]) == ("succeeded", 250, 100), job
    assert Contact.live.count() == 250
