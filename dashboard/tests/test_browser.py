"""The back office in a real browser (Debian's chromium driven by Playwright), as a manager
and an admin spend their day in it: sign in, the dashboard, a search without accents, an
import with bad rows through preview and confirm, restoring a deleted contact, a contact
from the unknown-caller inbox. Screenshots of the pages go to test-artifacts/ (git-ignored).

Chromium must be installed (``.ci/run`` installs Debian's ``chromium``); on a machine
without it these tests are skipped, except in CI, where that is a failure."""

import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import PASSWORD, UserFactory
from calls.tests.factories import make_call
from contacts.models import Contact
from contacts.services import contact_delete
from contacts.tests.factories import make_contact

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("no chromium on this machine (apt-get install chromium)", allow_module_level=True)

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.django_db(transaction=True)  # the live server sees committed rows


@pytest.fixture(scope="module")
def browser():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread
    assert CHROMIUM, "chromium is not installed: apt-get install chromium"
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(page, live_server, user) -> None:
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + reverse("admin:index"))


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER])
def test_a_manager_or_admin_signs_in_and_opens_the_dashboard(page, live_server, role):
    user = UserFactory(role=role)
    agent = UserFactory(role=Role.AGENT)
    make_call(user=agent, phone=make_contact(actor=agent, name="Ada").phone,
              started_at=timezone.now().isoformat())  # fmt: skip
    _sign_in(page, live_server, user)
    _shot(page, f"index-{role}")
    page.click("text=Dashboard")
    page.wait_for_selector("#widget-calls svg")
    assert page.locator("#widget-agents").inner_text().count(agent.email) == 1
    _shot(page, f"dashboard-{role}")
    if role == Role.MANAGER:  # users are the admins'
        assert page.locator("a[href$='/admin/accounts/user/']").count() == 0


def test_a_contact_is_found_without_its_accents(page, live_server):
    manager = UserFactory(role=Role.MANAGER)
    make_contact(actor=manager, name="João Gonçalves", phone="+351912345678")
    make_contact(actor=manager, name="Someone Else", phone="+351912345679")
    _sign_in(page, live_server, manager)
    page.goto(live_server.url + reverse("admin:contacts_contact_changelist"))
    page.fill("#searchbar", "goncalves")
    page.press("#searchbar", "Enter")
    page.wait_for_load_state()
    results = page.locator("#result_list").inner_text()
    assert "João Gonçalves" in results and "Someone Else" not in results
    _shot(page, "contacts-search")


def test_an_import_with_bad_rows_is_previewed_then_fixed_and_confirmed(page, live_server, tmp_path):
    manager = UserFactory(role=Role.MANAGER)
    _sign_in(page, live_server, manager)
    bad = tmp_path / "contacts.csv"
    bad.write_text("name,phone\nAda Lovelace,+12025550143\nNobody,12\n", encoding="utf-8")
    page.goto(live_server.url + reverse("admin:contacts_contact_import"))
    page.set_input_files("input[type=file]", str(bad))
    page.select_option("select[name=format]", index=1)  # CSV
    page.click("input[type=submit]")
    page.wait_for_selector("#invalid-rows")
    assert "Nobody" in page.locator("#invalid-rows").inner_text()
    _shot(page, "import-invalid-rows")
    good = tmp_path / "fixed.csv"
    good.write_text(
        "name,phone\nAda Lovelace,+12025550143\nNobody,+12025550144\n", encoding="utf-8"
    )
    page.set_input_files("input[type=file]", str(good))
    page.select_option("select[name=format]", index=1)
    page.click("input[type=submit]")
    page.wait_for_selector("#import-totals")
    _shot(page, "import-preview")
    page.click("input[type=submit][value='Confirm import']")
    page.wait_for_selector(".messagelist")
    assert Contact.live.count() == 2


def test_a_deleted_contact_is_restored(page, live_server):
    manager = UserFactory(role=Role.MANAGER)
    gone = make_contact(actor=manager, name="Gone Away", phone="+12025550150")
    contact_delete(actor=manager, contact=gone)
    _sign_in(page, live_server, manager)
    page.goto(live_server.url + reverse("admin:contacts_contact_change", args=[gone.pk]))
    page.click("input[value='Restore this contact']")
    page.wait_for_selector(".messagelist")
    assert "restored" in page.locator(".messagelist").inner_text()
    assert Contact.live.filter(pk=gone.pk).exists()
    _shot(page, "contact-restored")


def test_a_contact_is_created_from_the_unknown_caller_inbox(page, live_server):
    manager = UserFactory(role=Role.MANAGER)
    agent = UserFactory(role=Role.AGENT)
    make_call(user=agent, phone="+12025550177", direction="missed")
    _sign_in(page, live_server, manager)
    page.click("text=Unknown callers")
    page.wait_for_selector("#unknown-callers")
    _shot(page, "unknown-callers")
    page.fill("#unknown-callers input[name=name]", "New Lead")
    page.click("#unknown-callers input[type=submit]")
    page.wait_for_selector(".messagelist")
    assert "1 call(s) now show under it" in page.locator(".messagelist").inner_text()
    assert Contact.live.filter(name="New Lead", phone_normalized="+12025550177").exists()


def test_the_lists_fit_a_1400_pixel_screen(page, live_server):
    from contacts.lists import list_create, list_members_add
    from contacts.services import contact_update
    from ledger.models import Activity
    from syncaudit.models import Device, SyncRecord

    admin = UserFactory(role=Role.ADMIN, email="office.manager.with.a.long.address@example.com")
    agent = UserFactory(role=Role.AGENT, email="a.very.long.agent.address@example-company.com")
    for n in range(5):
        contact = make_contact(actor=agent, name=f"Maximiliana Wolfeschlegelsteinhausen {n}")
        contact_update(actor=agent, contact=contact, tags=["customer", "vip", "north-east", "q4"],
                       company="Analytical Engines and Difference Machines Ltd")  # fmt: skip
        team = list_create(actor=admin, name=f"Spring campaign {n}")
        list_members_add(actor=admin, contact_list=team, contact_ids=[contact.pk])
        make_call(user=agent, phone=contact.phone, device_id="pixel-8-pro-of-the-sales-team")
    device = Device.objects.create(user=agent, device_id="pixel-8-pro-of-the-sales-team",
                                   platform="android", app_version="2.14.1")  # fmt: skip
    SyncRecord.objects.create(user=agent, device=device, device_ref=device.device_id,
                              app_version="2.14.1")  # fmt: skip
    assert Activity.objects.exists()
    _sign_in(page, live_server, admin)
    for name in ("contacts_contact", "calls_calllog", "syncaudit_syncrecord", "syncaudit_device",
                 "ledger_activity"):  # fmt: skip
        page.goto(live_server.url + reverse(f"admin:{name}_changelist"))
        page.wait_for_selector("#result_list")
        _shot(page, f"list-{name}")
        # The table scrolls inside its box when it is wider than the page leaves it.
        table, box = page.evaluate(
            "[document.querySelector('#result_list').scrollWidth,"
            " document.querySelector('#changelist .results').clientWidth]"
        )
        assert table <= box, (name, table, box)
