"""Scenario 2: the same sync against Radicale, a CardDAV server, holding the same contacts as
vCards. The client does what a CardDAV client does: REPORT sync-collection (sync-level 1,
getetag) for the list of cards, then addressbook-multiget REPORTs of 100 cards each, parsing
every XML answer; our client follows /sync/contacts?limit=5000 and parses every JSON page.
Then a delta of 100 changed contacts on both: Radicale gets 100 PUTs (not timed) and the
client asks sync-collection with its last token plus one multiget; ours is scenario 3's
delta (100 contacts changed in SQL, one GET with the previous cursor).

Rows 2.2 and 2.3 put our own CardDAV (/dav/, issue 19) against Radicale, both driven exactly as
DAVx5 drives a server (its SyncManager: sync-collection pages, following a 507 on the
collection's own href, then addressbook-multiget REPORTs of MULTIGET_BATCH_SIZE = 10 hrefs):
the full sync of every card, and the delta of 100 changed contacts (changed in SQL on ours as
in scenario 3, by 100 PUTs on Radicale; neither is timed), sync-collection with the last token
plus ten multigets of 10. Our client signs in with HTTP Basic and an app password made through
POST /api/v1/devices/app-passwords, as a phone does.

Radicale's storage is written directly (one .vcf per contact and the collection's
.Radicale.props) instead of 20,000 PUTs; the first full sync (it builds Radicale's item cache)
is a warm-up and not counted, as ours has one too.
"""

import json
import random
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import httpx

from bench.common import PYTHON, WORK, log, median, ms, secs
from bench.pg import free_port
from bench.report import Target
from bench.scenarios import delta
from bench.scenarios.initial_sync import full_sync

DAV, CARDDAV = "DAV:", "urn:ietf:params:xml:ns:carddav"
COLLECTION = "/bench/contacts/"
MULTIGET_BATCH = 100
DAVX5_BATCH = 10  # DAVx5's SyncManager.MULTIGET_BATCH_SIZE
SYNC_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
    "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
)
MULTIGET_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
    "<D:prop><D:getetag/><C:address-data/></D:prop>{hrefs}</C:addressbook-multiget>"
)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")


def vcard(contact_id: str, name: str, e164: str, updated) -> str:
    first, _, last = name.partition(" ")
    return "\r\n".join(
        [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"UID:{contact_id}",
            f"FN:{_escape(name)}",
            f"N:{_escape(last)};{_escape(first)};;;",
            f"TEL;TYPE=CELL:{e164}",
            f"REV:{updated:%Y%m%dT%H%M%SZ}",
            "END:VCARD",
            "",
        ]
    )


class Radicale:
    def __init__(self, root):
        self.root = root
        self.port = free_port()
        self.process = None

    @property
    def collection_dir(self):
        return self.root / "collection-root" / "bench" / "contacts"

    def write(self, contacts) -> int:
        shutil.rmtree(self.root, ignore_errors=True)
        self.collection_dir.mkdir(parents=True)
        (self.collection_dir / ".Radicale.props").write_text(
            json.dumps({"tag": "VADDRESSBOOK", "D:displayname": "Bench contacts"})
        )
        count = 0
        for contact_id, name, e164, updated in contacts:
            (self.collection_dir / f"{contact_id}.vcf").write_text(
                vcard(str(contact_id), name, e164, updated), newline=""
            )
            count += 1
        return count

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "radicale",
                "--config",
                "",
                "--server-hosts",
                f"127.0.0.1:{self.port}",
                "--auth-type",
                "none",
                "--web-type",
                "none",
                "--storage-filesystem-folder",
                str(self.root),
                "--logging-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "radicale.log").open("w"),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.request("OPTIONS", f"{self.url}/", timeout=1)
                return
            except httpx.HTTPError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        raise RuntimeError(f"Radicale did not start; see {self.root / 'radicale.log'}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class CardDavClient:
    def __init__(
        self,
        base_url: str,
        *,
        auth: tuple[str, str] = ("bench", "bench"),
        collection: str = COLLECTION,
        batch: int = MULTIGET_BATCH,
    ):
        self.http = httpx.Client(base_url=base_url, auth=auth, timeout=600)
        self.collection = collection
        self.batch = batch
        self.requests = 0

    def _report(self, body: str, depth: str) -> ET.Element:
        response = self.http.request(
            "REPORT",
            self.collection,
            content=body.encode(),
            headers={"Depth": depth, "Content-Type": "application/xml; charset=utf-8"},
        )
        self.requests += 1
        if response.status_code != 207:
            raise RuntimeError(f"REPORT -> {response.status_code}: {response.text[:300]}")
        return ET.fromstring(response.content)

    def sync_collection(self, token: str = "") -> tuple[str, list[str]]:
        """Every changed member's href, following "more" (a 507 on the collection's own href)
        as DAVx5 does; deleted members (404) are left out."""
        hrefs = []
        while True:
            root = self._report(SYNC_BODY.format(token=token), depth="0")
            token = root.findtext(f"{{{DAV}}}sync-token")
            more = False
            for r in root.findall(f"{{{DAV}}}response"):
                href = r.findtext(f"{{{DAV}}}href")
                status = r.findtext(f"{{{DAV}}}status") or ""
                if href.rstrip("/") == self.collection.rstrip("/"):
                    more = "507" in status
                elif "404" not in status:
                    hrefs.append(href)
            if not more:
                return token, hrefs

    def multiget(self, hrefs: list[str]) -> int:
        body = MULTIGET_BODY.format(hrefs="".join(f"<D:href>{h}</D:href>" for h in hrefs))
        root = self._report(body, depth="1")
        cards = [e.text for e in root.iter(f"{{{CARDDAV}}}address-data") if e.text]
        return len(cards)

    def sync(self, token: str = "") -> tuple[float, int, str, int]:
        """(seconds, cards fetched, new token, requests)."""
        self.requests = 0
        started = time.perf_counter()
        token, hrefs = self.sync_collection(token)
        cards = 0
        for start in range(0, len(hrefs), self.batch):
            cards += self.multiget(hrefs[start : start + self.batch])
        return time.perf_counter() - started, cards, token, self.requests

    def put(self, href: str, card: str) -> None:
        response = self.http.put(
            href, content=card.encode(), headers={"Content-Type": "text/vcard; charset=utf-8"}
        )
        if response.status_code not in (200, 201, 204):
            raise RuntimeError(f"PUT -> {response.status_code}: {response.text[:200]}")

    def close(self) -> None:
        self.http.close()


def run(bench) -> None:
    profile = bench.profile
    if not profile.radicale:
        reason = "skipped in --quick (a Radicale full sync is ~20 s a run); run the full mode"
        bench.report.not_run(2.0, "2 full sync vs Radicale CardDAV", reason, "≥ 10.00x")
        bench.report.not_run(2.1, "2 delta 100 changes vs Radicale CardDAV", reason, "≥ 10.00x")
        bench.report.not_run(2.2, "2 DAVx5 full sync: our CardDAV vs Radicale", reason, "≥ 10.00x")
        bench.report.not_run(2.3, "2 DAVx5 delta: our CardDAV vs Radicale", reason, "≥ 10.00x")
        return
    contacts = bench.conn.execute(
        "SELECT id, name, phone_normalized, updated_at FROM contacts_contact "
        "WHERE deleted_at IS NULL ORDER BY version, id"
    ).fetchall()
    server = Radicale(WORK / "radicale")
    written = server.write(contacts)
    log(f"wrote {written:,} vCards for Radicale")
    server.start()
    client = CardDavClient(server.url)
    try:
        took, cards, token, _ = client.sync()  # warm-up: Radicale builds its item cache
        log(f"Radicale warm-up sync: {took:.1f} s, {cards:,} cards")
        theirs, ours = [], []
        with bench.api() as api:
            for _ in range(profile.radicale_reps):
                took, cards, token, requests = client.sync()
                if cards != written:
                    raise RuntimeError(f"Radicale returned {cards} of {written} cards")
                theirs.append(took)
                took, our_requests, _, _ = full_sync(api)
                ours.append(took)
        log(f"full sync: Radicale {theirs} s, ours {ours} s")
        bench.report.compare(
            2.0,
            f"2 full sync {written:,} contacts vs Radicale CardDAV",
            f"{secs(median(ours))}, {our_requests} requests",
            f"Radicale {secs(median(theirs))}, {requests} requests",
            median(theirs) / median(ours),
            Target(">=", 10.0),
        )

        rng = random.Random(21)
        by_id = {str(c[0]): c for c in contacts}
        their_deltas = []
        for rep in range(profile.radicale_reps + 1):
            for contact_id in rng.sample(sorted(by_id), delta.CHANGES):
                _, name, e164, updated = by_id[contact_id]
                card = vcard(contact_id, f"{name} {rep}", e164, updated)
                client.put(f"{COLLECTION}{contact_id}.vcf", card)
            took, cards, token, requests = client.sync(token)
            if cards != delta.CHANGES:
                raise RuntimeError(f"Radicale delta returned {cards} cards")
            if rep:
                their_deltas.append(took)
        our_deltas = delta.measure(bench, delta.REPS, seed=22)
        log(f"delta: Radicale {their_deltas} s, ours {our_deltas} s")
        bench.report.compare(
            2.1,
            f"2 delta {delta.CHANGES} changes vs Radicale CardDAV",
            f"{ms(median(our_deltas))}, 1 request",
            f"Radicale {ms(median(their_deltas))}, {requests} requests",
            median(their_deltas) / median(our_deltas),
            Target(">=", 10.0),
        )
        _davx5_rows(bench, server, written, rng, by_id, token)
    finally:
        client.close()
        server.stop()


def _our_carddav(bench) -> "CardDavClient":
    """A client of our /dav/ book, signed in with an app password made through the API."""
    with bench.api() as api:
        made = api.post("/api/v1/devices/app-passwords", json={"label": "bench phone"})
        made.raise_for_status()
        me = api.get("/api/v1/auth/me").json()
    return CardDavClient(
        bench.base_url,
        auth=(bench.admin_email, made.json()["password"]),
        collection=f"/dav/addressbooks/{me['id']}/team/",
        batch=DAVX5_BATCH,
    )


def _davx5_rows(bench, server, written: int, rng, by_id: dict, token: str) -> None:
    """Rows 2.2 and 2.3: DAVx5's own requests (multigets of 10) against both servers."""
    profile = bench.profile
    theirs_client = CardDavClient(server.url, batch=DAVX5_BATCH)
    ours_client = _our_carddav(bench)
    try:
        ours_client.sync()  # warm-up, as Radicale's was
        theirs, ours = [], []
        for _ in range(profile.radicale_reps):
            took, cards, _, their_requests = theirs_client.sync()
            if cards != written:
                raise RuntimeError(f"Radicale returned {cards} of {written} cards")
            theirs.append(took)
            took, cards, our_token, our_requests = ours_client.sync()
            if cards != written:
                raise RuntimeError(f"our CardDAV returned {cards} of {written} cards")
            ours.append(took)
        log(f"DAVx5 full sync: Radicale {theirs} s, ours {ours} s")
        bench.report.compare(
            2.2,
            f"2 DAVx5 full sync {written:,} contacts: our CardDAV vs Radicale (multiget of 10)",
            f"{secs(median(ours))}, {our_requests} requests",
            f"Radicale {secs(median(theirs))}, {their_requests} requests",
            median(theirs) / median(ours),
            Target(">=", 10.0),
        )

        their_deltas, our_deltas = [], []
        for rep in range(profile.radicale_reps + 1):
            for contact_id in rng.sample(sorted(by_id), delta.CHANGES):
                _, name, e164, updated = by_id[contact_id]
                theirs_client.put(
                    f"{COLLECTION}{contact_id}.vcf",
                    vcard(contact_id, f"{name} d{rep}", e164, updated),
                )
            took, cards, token, their_requests = theirs_client.sync(token)
            if cards != delta.CHANGES:
                raise RuntimeError(f"Radicale delta returned {cards} cards")
            delta.change_contacts(bench, rng)
            ours_took, our_cards, our_token, our_requests = ours_client.sync(our_token)
            if our_cards != delta.CHANGES:
                raise RuntimeError(f"our CardDAV delta returned {our_cards} cards")
            if rep:
                their_deltas.append(took)
                our_deltas.append(ours_took)
        log(f"DAVx5 delta: Radicale {their_deltas} s, ours {our_deltas} s")
        bench.report.compare(
            2.3,
            f"2 DAVx5 delta {delta.CHANGES} changes: our CardDAV vs Radicale (multiget of 10)",
            f"{ms(median(our_deltas))}, {our_requests} requests",
            f"Radicale {ms(median(their_deltas))}, {their_requests} requests",
            median(their_deltas) / median(our_deltas),
            Target(">=", 10.0),
        )
    finally:
        theirs_client.close()
        ours_client.close()
