"""Real processes against the test database: the production web server and the worker.

Tests that use them need committed rows (``django_db(transaction=True)``): another process
cannot see the test's open transaction.
"""

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database, as a DATABASE_URL for a child process."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def worker_once(**extra: str) -> subprocess.CompletedProcess:
    """``manage.py worker --once``: work the queue until it is empty."""
    return subprocess.run(
        [sys.executable, "manage.py", "worker", "--once"],
        cwd=ROOT, env=child_env(**extra), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """The production server command (README, Dockerfile) on a free port, with production
    settings: ``gunicorn crm.asgi:application -k uvicorn_worker.UvicornWorker``."""

    def __init__(self, workers: int = 1, **env: str):
        self.port = free_port()
        self.workers = workers
        self.env = child_env(
            DJANGO_DEBUG="false",
            DJANGO_SECRET_KEY=settings.SECRET_KEY,
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_SECURE_SSL_REDIRECT="false",
            REQUIRE_DURABLE_DATABASE="false",
            LOG_LEVEL="WARNING",
            **env,
        )
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "AppServer":
        command = [
            sys.executable, "-m", "gunicorn", "crm.asgi:application",
            "-k", "uvicorn_worker.UvicornWorker",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
            "--graceful-timeout", "30",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.output())
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not answer /healthz within 30 s")

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self, timeout: float = 30) -> float:
        """SIGTERM, as a deploy does; how long the server took to exit."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - started

    def output(self) -> str:
        if self.process is None or self.process.stdout is None:
            return ""
        if self.process.poll() is None:
            return "(still running)"
        return self.process.stdout.read().decode(errors="replace")[-3000:]

    def request(self, method: str, path: str, body=None, token: str | None = None):
        """(status, parsed JSON or raw bytes, headers)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Host": "127.0.0.1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        kind = response.getheader("Content-Type", "")
        parsed = json.loads(raw) if raw and kind.startswith("application/json") else raw
        return response.status, parsed, dict(response.getheaders())

    def stream(self, token: str, **headers: str) -> "EventStream":
        return EventStream(self.port, token, headers)


class EventStream:
    """A Server-Sent Events client over a plain socket (a read may time out and go on):
    events and comment lines as they arrive."""

    def __init__(self, port: int, token: str, headers: dict[str, str]):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sent = {"Host": "127.0.0.1", "Accept": "text/event-stream"}
        sent["Authorization"] = f"Bearer {token}"
        sent.update({name.replace("_", "-"): value for name, value in headers.items()})
        lines = ["GET /api/v1/events HTTP/1.1", *(f"{k}: {v}" for k, v in sent.items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.raw = b""  # bytes received, not yet decoded
        self.text = b""  # the body, de-chunked, not yet read
        self.ended = False
        while b"\r\n\r\n" not in self.raw:
            self._receive(time.monotonic() + 10)
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)
        }
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.comments: list[str] = []

    def _receive(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.sock], [], [], left)[0]:
            raise TimeoutError("no data from the event stream")
        data = self.sock.recv(65536)
        if not data:
            self.ended = True
        self.raw += data

    def _decode(self) -> None:
        if not self.chunked:
            self.text, self.raw = self.text + self.raw, b""
            return
        while b"\r\n" in self.raw:
            size_line, rest = self.raw.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                self.ended, self.raw = True, b""
                return
            if len(rest) < size + 2:
                return
            self.text += rest[:size]
            self.raw = rest[size + 2 :]

    def _line(self, deadline: float) -> bytes | None:
        while True:
            self._decode()
            if b"\n" in self.text:
                line, self.text = self.text.split(b"\n", 1)
                return line
            if self.ended:
                return None
            self._receive(deadline)

    def json(self):
        length = int(self.headers.get("content-length", "0"))
        deadline = time.monotonic() + 10
        while len(self.raw) < length and not self.ended:
            self._receive(deadline)
        return json.loads(self.raw[:length])

    def next_event(self, timeout: float = 10) -> dict | None:
        """The next event ({"id", "event", "data"}), or None when the stream ends; comments
        read on the way are kept in ``comments``. TimeoutError if nothing comes in time."""
        deadline = time.monotonic() + timeout
        event: dict = {}
        while True:
            line = self._line(deadline)
            if line is None:
                return None
            text = line.decode().rstrip("\r")
            if text == "":
                if "event" in event:
                    return event
                event = {}  # a block without an event (retry:, comments)
                continue
            if text.startswith(":"):
                self.comments.append(text[1:].strip())
                continue
            field, _, value = text.partition(":")
            value = value[1:] if value.startswith(" ") else value
            event[field] = json.loads(value) if field == "data" else value

    def close(self) -> None:
        self.sock.close()
