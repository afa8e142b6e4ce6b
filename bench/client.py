"""HTTP side: a logged-in API client and a concurrent closed-loop load generator."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

TIMEOUT = httpx.Timeout(900.0)


def login(base_url: str, email: str, password: str) -> str:
    response = httpx.post(
        f"{base_url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=60
    )
    response.raise_for_status()
    return response.json()["access"]


def api_client(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    )


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds


def closed_loop(
    request: Callable[[int, int], float],
    *,
    clients: int,
    seconds: float,
) -> LoadResult:
    """``clients`` threads each call ``request(client, n)`` back to back for ``seconds``.

    ``request`` returns the latency of one successful request (or raises). Throughput counts
    requests completed within the window."""
    result = LoadResult(seconds=seconds)
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def worker(client: int) -> None:
        n = 0
        latencies, errors, first_error = [], 0, ""
        while time.perf_counter() < deadline:
            try:
                latencies.append(request(client, n))
            except Exception as exc:  # counted and shown, never hidden
                errors += 1
                first_error = first_error or repr(exc)[:200]
            n += 1
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors
            result.first_error = result.first_error or first_error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - start
    return result


def timed_get(client: httpx.Client, url: str, **kwargs) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(url, **kwargs)
    response.read()
    took = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} -> {response.status_code}: {response.text[:200]}")
    return took, response
