"""Streamed exports of contacts and calls: CSV with a BOM, XLSX with real dates, the list
filters, spreadsheet-safe cells, managers and admins only."""

import csv
import io
from datetime import datetime

import openpyxl
import pytest

from calls.tests.factories import make_call
from contacts.services import contact_update
from contacts.tests.factories import make_contact
from crm.tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # a BOM: spreadsheet programs read UTF-8 right
    return list(csv.DictReader(io.StringIO(body[1:])))


def test_contacts_export_follows_the_list_filters(manager_client, agent):
    vip = make_contact(actor=agent, name="=HYPERLINK(1) Zoë")
    contact_update(actor=agent, contact=vip, tags=["VIP"], company="ACME")
    make_contact(actor=agent, name="Plain")
    response = manager_client.get("/api/v1/contacts/export", {"format": "csv", "tag": "vip"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert [r["name"] for r in rows] == ["'=HYPERLINK(1) Zoë"]  # never a formula
    assert (rows[0]["tags"], rows[0]["company"], rows[0]["phone_normalized"]) == (
        "VIP", "ACME", vip.phone_normalized,
    )  # fmt: skip
    assert len(_csv(manager_client.get("/api/v1/contacts/export"))) == 2  # csv by default


def test_calls_export_as_xlsx_has_real_dates(manager_client, agent):
    make_call(user=agent, phone="+12025550100", started_at="2026-01-02T09:30:00Z")
    make_call(user=agent, phone="+12025550101", direction="missed")
    response = manager_client.get(
        "/api/v1/calls/export", {"format": "xlsx", "phone": "+12025550100"}
    )
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(book.active.values)
    assert rows[0][:3] == ("id", "started_at", "direction")
    assert len(rows) == 2
    assert rows[1][1] == datetime(2026, 1, 2, 9, 30)  # a date cell, in UTC


@pytest.mark.parametrize("path", ["/api/v1/contacts/export", "/api/v1/calls/export"])
def test_exports_are_for_managers_and_admins(agent_client, viewer_client, admin_client, path):
    assert_error(agent_client.get(path), 403)
    assert_error(viewer_client.get(path), 403)
    assert admin_client.get(path).status_code == 200
    assert_error(admin_client.get(path, {"format": "pdf"}), 400, "validation_error")


TRICKY = [
    "=1+2", "+12025550143", "+1 (202) 555-0143", "+1+cmd", "-202-555-0101", "-", "@SUM(A1)",
    "\tx", "\rx", "plain", "", "Zoë", "+٣٣", "'quoted", '"dq"', "a,b", "line\nbreak", "+",
    "+ 1", "=", "x=1", " =1",
]  # fmt: skip


@pytest.mark.parametrize("text", TRICKY)
def test_the_sql_cell_rule_is_cell_safe(text):
    from django.db import connection
    from django.db.models import Value

    from contacts.models import Contact
    from crm.http.exports import CellSafe, cell_safe

    with connection.cursor() as cursor:
        compiler = Contact.objects.all().query.get_compiler("default")
        sql, params = CellSafe(Value(text)).as_sql(compiler, connection)
        cursor.execute(f"SELECT {sql}", params)
        (got,) = cursor.fetchone()
    assert got == cell_safe(text)


def test_the_csv_written_by_postgresql_has_the_cells_python_writes(manager_client, agent, manager):
    import json

    from contacts.custom_fields import custom_field_create
    from contacts.lists import list_create, list_members_add
    from contacts.selectors import EXPORT_HEADER, contact_export_cells, contact_export_rows
    from contacts.selectors import contact_list as contacts_all

    custom_field_create(actor=manager, key="budget", label="Budget", type="number")
    odd = make_contact(actor=agent, name='=cmd|"/C calc"!A0, "quoted"', phone="-202-200-0002")
    contact_update(actor=agent, contact=odd, tags=["VIP", "a,b"], notes="@x\r\ny",
                   custom_fields={"budget": 1200}, email="z@example.com")  # fmt: skip
    plain = make_contact(actor=agent, name="Zoë Ümlaut", phone="+1 202 200 0003")
    for name in ("Zulu", "alpha", "Émile"):
        list_members_add(actor=manager, contact_list=list_create(actor=manager, name=name),
                         contact_ids=[odd.pk, plain.pk])  # fmt: skip
    rows = _csv(manager_client.get("/api/v1/contacts/export", {"format": "csv"}))
    cells = contact_export_cells()
    from crm.http.exports import _csv_cell

    want = [
        dict(zip(EXPORT_HEADER, [str(_csv_cell(v)) for v in cells(row)], strict=True))
        for row in contact_export_rows(contacts_all())
    ]
    for got, wanted in zip(rows, want, strict=True):
        assert json.loads(got.pop("custom_fields") or "{}") == json.loads(
            wanted.pop("custom_fields") or "{}"
        )
        assert got == wanted
    assert rows[0]["lists"] == "Zulu, alpha, Émile"  # code-point order, as sorted() gives


def test_a_streamed_export_is_gzipped_quickly_and_reads_back_whole(manager_client, agent):
    import gzip

    for n in range(30):
        make_contact(actor=agent, name=f"Contact {n}")
    plain = _csv(manager_client.get("/api/v1/contacts/export"))
    response = manager_client.get("/api/v1/contacts/export", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip" and "Accept-Encoding" in response["Vary"]
    body = gzip.decompress(b"".join(response.streaming_content)).decode("utf-8")
    assert list(csv.DictReader(io.StringIO(body[1:]))) == plain
