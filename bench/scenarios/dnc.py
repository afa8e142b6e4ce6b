"""Scenario 9: do-not-call at scale. ``profile.dnc_entries`` numbers (full: 10,000,000) are
COPY-loaded into one active list, 10% of them the numbers of existing contacts.

- ``GET /api/v1/dnc/check?phone=`` (half blocked numbers, half not, written in three formats)
  with 8 closed-loop clients, against the yardstick ``/bench/pk/<id>`` on the same server,
  rounds interleaved: throughput ≥ 50%.
- ``POST /api/v1/dnc/scrub`` of a contact list of 100,000 contacts (quick: every contact)
  against the same anti-join run raw through psycopg (the live contacts on the list, each
  probed for an entry that blocks now): ≤ 1.5x.
"""

import random
import time
import uuid

from bench.common import log, median, ms, secs
from bench.data import NOW, bulk_load, phone_as_entered, phone_e164, vacuum_analyze
from bench.report import Target
from bench.scenarios.reads import http_load

SCRUB_CONTACTS = 100_000
ENTRY_COLUMNS = (
    "id", "list_id", "phone", "phone_normalized", "reason", "source", "notes", "expires_at",
    "expired", "added_by_id", "created_at", "version", "deleted_at",
)  # fmt: skip
RAW_SCRUB = """
SELECT count(*), count(*) FILTER (WHERE EXISTS (
         SELECT 1 FROM dnc_dncentry e JOIN dnc_dnclist l ON l.id = e.list_id
          WHERE e.phone_normalized = c.phone_normalized AND e.deleted_at IS NULL
            AND l.active AND l.deleted_at IS NULL
            AND (e.expires_at IS NULL OR e.expires_at > now())))
  FROM contacts_contact c
 WHERE c.deleted_at IS NULL AND c.lists && ARRAY[%s]::uuid[]
"""


def _load(bench, count: int) -> int:
    """One DNC list with ``count`` numbers; the first index of its numbers."""
    conn = bench.conn
    list_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO dnc_dnclist (id, name, type, description, source, active, created_at, "
        "updated_at) VALUES (%s, 'Federal registry', 'federal', '', 'bench', true, now(), now())",
        [list_id],
    )
    first = int(bench.data.contacts * 0.9)  # the last 10% of the contacts are on it
    version = conn.execute(
        "UPDATE ledger_changefeed SET version = version + 1 WHERE name = 'dnc' RETURNING version"
    ).fetchone()
    version = version[0] if version else 1
    rng = random.Random(9)

    def rows():
        for index in range(first, first + count):
            e164 = phone_e164(index)
            yield (uuid.UUID(int=rng.getrandbits(128), version=4), list_id, e164, e164,
                   "registry", "", "", None, False, None, NOW, version, None)  # fmt: skip

    started = time.perf_counter()
    bulk_load(conn, "dnc_dncentry", ENTRY_COLUMNS, rows())
    vacuum_analyze(conn, "dnc_dncentry")
    log(f"loaded {count:,} DNC numbers in {time.perf_counter() - started:.0f} s")
    return first


def run(bench) -> None:
    profile = bench.profile
    conn = bench.conn
    if conn.execute("SELECT to_regclass('dnc_dncentry')").fetchone()[0] is None:
        raise RuntimeError("this app has no do-not-call tables")
    first = _load(bench, profile.dnc_entries)
    ids = bench.data.contact_ids

    def check_url(rng: random.Random) -> str:
        blocked = rng.random() < 0.5
        index = (
            rng.randrange(first, first + profile.dnc_entries)
            if blocked
            else rng.randrange(0, first)
        )
        number = phone_as_entered(phone_e164(index), rng.randrange(3)).replace("+", "%2B")
        return f"/api/v1/dnc/check?phone={number}"

    makers = {"pk": lambda rng: f"/bench/pk/{rng.choice(ids)}", "check": check_url}
    rates = {name: [] for name in makers}
    latencies = {name: [] for name in makers}
    for round_ in range(profile.read_rounds + 1):  # the first round warms up
        for name, make in makers.items():
            result = http_load(bench, make, profile.read_seconds, seed=round_)
            if result.errors:
                raise RuntimeError(f"{name}: {result.errors} errors, e.g. {result.first_error}")
            if round_:
                rates[name].append(len(result.latencies) / result.seconds)
                latencies[name].extend(result.latencies)
    check, pk = median(rates["check"]), median(rates["pk"])
    bench.report.compare(
        9.0,
        f"9 GET /dnc/check, 8 clients, {profile.dnc_entries:,} DNC numbers",
        f"{check:.0f} req/s (p50 {ms(median(latencies['check']))})",
        f"pk view {pk:.0f} req/s",
        check / pk,
        Target(">=", 0.50, percent=True),
    )

    # A contact list of SCRUB_CONTACTS contacts spread over the book (their ``lists``, as the
    # app keeps it), so that about 10% of them are on the DNC list.
    step = max(1, len(ids) // SCRUB_CONTACTS)
    chosen = ids[::step][:SCRUB_CONTACTS]
    members = len(chosen)
    contact_list = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO contacts_contactlist (id, name, description, created_by_id, created_at, "
        "updated_at, version) SELECT %s, 'Campaign', '', id, now(), now(), 1 FROM accounts_user "
        "LIMIT 1",
        [contact_list],
    )
    conn.execute(
        "UPDATE contacts_contact SET lists = ARRAY[%s]::uuid[] WHERE id = ANY(%s::uuid[])",
        [contact_list, chosen],
    )
    vacuum_analyze(conn, "contacts_contact")
    ours, raw = [], []
    with bench.api() as client:
        for rep in range(profile.reps + 1):
            started = time.perf_counter()
            answer = client.post("/api/v1/dnc/scrub", json={"lists": [contact_list]}, timeout=600)
            took = time.perf_counter() - started
            answer.raise_for_status()
            body = answer.json()
            started = time.perf_counter()
            total, blocked = conn.execute(RAW_SCRUB, [contact_list]).fetchone()
            raw_took = time.perf_counter() - started
            if (body["total"], body["blocked"]) != (total, blocked):
                raise RuntimeError(f"scrub said {body}, the raw query {total}/{blocked}")
            if rep:
                ours.append(took)
                raw.append(raw_took)
    log(f"scrub of {members:,}: {body['blocked']:,} blocked; ours {ours}, raw {raw}")
    bench.report.compare(
        9.1,
        f"9 POST /dnc/scrub of {members:,} contacts against {profile.dnc_entries:,} numbers",
        secs(median(ours)),
        f"raw anti-join {secs(median(raw))}",
        median(ours) / median(raw),
        Target("<=", 1.5),
    )
