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
