"""Scenario 7: POST /auth/login latency, next to what the password hasher alone costs.

Successful logins are not throttled (only failures count), so the loop is never refused."""

import hashlib
import time

import httpx

from bench.common import log, median, ms


def run(bench) -> None:
    encoded = bench.conn.execute(
        "SELECT password FROM accounts_user WHERE email = %s", [bench.admin_email]
    ).fetchone()[0]
    algorithm, iterations = encoded.split("$")[:2]
    raw = []
    if algorithm.startswith("pbkdf2_"):
        digest = algorithm.removeprefix("pbkdf2_")
        for _ in range(3):
            started = time.perf_counter()
            hashlib.pbkdf2_hmac(digest, b"correct horse", b"0123456789abcdef", int(iterations))
            raw.append(time.perf_counter() - started)
    latencies = []
    body = {"email": bench.admin_email, "password": bench.admin_password}
    with httpx.Client(base_url=bench.base_url, timeout=60) as client:
        for rep in range(bench.profile.login_reps + 1):
            started = time.perf_counter()
            response = client.post("/api/v1/auth/login", json=body)
            took = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"login: {response.status_code} {response.text[:200]}")
            if rep:  # the first one warms up
                latencies.append(took)
    log(f"login: {[round(t * 1000) for t in latencies]} ms; raw hash {raw}")
    reference = f"one {algorithm} hash in-process {ms(median(raw))}" if raw else "—"
    ratio = f"{median(latencies) / median(raw):.2f}x" if raw else "—"
    bench.report.info(
        7.0, "7 login POST /auth/login p50 (sequential)", ms(median(latencies)), reference, ratio
    )
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    bench.report.info(
        7.1,
        "7 password hasher (from the stored hash)",
        f"{algorithm}, {int(iterations):,} iterations",
        f"Django's PBKDF2 default {PBKDF2PasswordHasher.iterations:,}",
    )
