"""A real client: vdirsyncer (CardDAV storage: discovery, PROPFIND listing, multiget, PUT with
If-None-Match / If-Match) syncs the book to a folder and back against the live test server."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.apppasswords import app_password_create
from accounts.models import Role
from accounts.tests.factories import UserFactory
from contacts.models import Contact
from contacts.services import contact_update
from contacts.tests.factories import make_contact

pytestmark = pytest.mark.django_db(transaction=True)

VDIRSYNCER = shutil.which("vdirsyncer") or str(Path(sys.executable).parent / "vdirsyncer")

CONFIG = """
[general]
status_path = "{tmp}/status/"

[pair book]
a = "book_folder"
b = "book_server"
collections = null
{resolution}

[storage book_folder]
type = "filesystem"
path = "{tmp}/cards/"
fileext = ".vcf"

[storage book_server]
type = "carddav"
url = "{url}"
username = "{email}"
password = "{password}"
"""


class Vdirsyncer:
    def __init__(self, tmp: Path, url: str, user, password: str):
        self.tmp, self.url, self.user, self.password = tmp, url, user, password
        (tmp / "cards").mkdir()

    def run(self, *args: str, resolution: str = "") -> subprocess.CompletedProcess:
        config = self.tmp / "config"
        config.write_text(
            CONFIG.format(
                tmp=self.tmp, url=self.url, email=self.user.email, password=self.password,
                resolution=resolution,
            )
        )  # fmt: skip
        return subprocess.run(
            [VDIRSYNCER, "-c", str(config), *args],
            capture_output=True, text=True, timeout=120, input="y\n" * 5,
        )  # fmt: skip

    def sync(self, resolution: str = "") -> subprocess.CompletedProcess:
        return self.run("sync", resolution=resolution)

    def files(self) -> dict[str, str]:
        return {p.name: p.read_text() for p in (self.tmp / "cards").glob("*.vcf")}


@pytest.fixture
def vdir(live_server, tmp_path):
    user = UserFactory(role=Role.MANAGER)
    _, password = app_password_create(user=user, label="vdirsyncer")
    url = f"{live_server.url}/dav/addressbooks/{user.pk}/team/"
    client = Vdirsyncer(tmp_path, url, user, password)
    discovered = client.run("discover")
    assert discovered.returncode == 0, discovered.stderr
    return client


def _ok(result):
    assert result.returncode == 0, result.stderr
    return result


def test_vdirsyncer_syncs_the_book_to_a_folder_and_back(vdir):
    contacts = [make_contact(actor=vdir.user, name=f"Folder Person {i}") for i in range(3)]
    _ok(vdir.sync())
    files = vdir.files()
    assert len(files) == 3
    assert any(f"FN:{contacts[0].name}" in text for text in files.values())

    # An edit made in the folder reaches the server (PUT with If-Match).
    (name, text) = next((n, t) for n, t in files.items() if f"UID:{contacts[1].pk}" in t)
    (vdir.tmp / "cards" / name).write_text(
        text.replace("FN:Folder Person 1", "FN:Edited In Folder")
    )
    _ok(vdir.sync())
    contacts[1].refresh_from_db()
    assert contacts[1].name == "Edited In Folder"

    # A card made in the folder becomes a contact, kept under vdirsyncer's name and UID.
    new = "\r\n".join(
        ["BEGIN:VCARD", "VERSION:3.0", "UID:made-in-folder", "FN:Folder Made",
         "TEL:+12025550166", "END:VCARD", ""]
    )  # fmt: skip
    (vdir.tmp / "cards" / "made-in-folder.vcf").write_text(new)
    _ok(vdir.sync())
    assert Contact.live.get(phone_normalized="+12025550166").name == "Folder Made"
    _ok(vdir.sync())  # nothing moves twice: the UID came back as it was sent
    assert len(vdir.files()) == 4

    # A change on the server reaches the folder.
    contact_update(actor=vdir.user, contact=contacts[2], name="Changed On Server")
    _ok(vdir.sync())
    assert any("FN:Changed On Server" in text for text in vdir.files().values())

    # A delete in the folder deletes the contact (DELETE with If-Match).
    (name, _) = next((n, t) for n, t in vdir.files().items() if f"UID:{contacts[0].pk}" in t)
    (vdir.tmp / "cards" / name).unlink()
    _ok(vdir.sync())
    assert Contact.objects.get(pk=contacts[0].pk).deleted_at is not None


def test_a_card_changed_on_both_sides_is_a_conflict_until_resolved(vdir):
    contact = make_contact(actor=vdir.user, name="Both Sides")
    _ok(vdir.sync())
    (name, text) = next(iter(vdir.files().items()))
    (vdir.tmp / "cards" / name).write_text(text.replace("FN:Both Sides", "FN:Folder Side"))
    contact_update(actor=vdir.user, contact=contact, name="Server Side")

    conflict = vdir.sync()
    assert conflict.returncode != 0
    contact.refresh_from_db()
    assert contact.name == "Server Side"

    _ok(vdir.sync(resolution='conflict_resolution = "a wins"'))
    contact.refresh_from_db()
    assert contact.name == "Folder Side"
