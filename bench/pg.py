"""A throwaway PostgreSQL cluster: its own temporary directory and free port, stopped and
removed when the benchmark ends, whether it passed or failed (the same recipe as
scripts/with-postgres.sh, in Python so the harness can own its lifetime)."""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

# PostgreSQL's defaults, as the docker-compose service runs it (planner costs, shared_buffers and
# durability included: fsync and synchronous_commit stay on), except what only speeds up the
# bulk load (index builds, checkpoints) and enough connections for every client.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_pg_bin() -> Path:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL server binaries not found (set PG_BIN)")


class Cluster:
    user = "crm"

    def __init__(self):
        self.bin = find_pg_bin()
        self.root: Path | None = None
        self.port = free_port()
        self.running = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _as_pg(self, *args: str) -> list[str]:
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as "postgres"
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def start(self) -> "Cluster":
        self.root = Path(tempfile.mkdtemp(prefix="crm-bench-pg-"))
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        subprocess.run(
            self._as_pg(
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = f"-p {self.port} -k {self.root} " + " ".join(
            f"-c {key}={value}" for key, value in SERVER_SETTINGS.items()
        )
        result = subprocess.run(
            self._as_pg(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-o",
                options,
                "start",
            ),
            stdout=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")
            raise RuntimeError(f"PostgreSQL did not start:\n{log[-2000:]}")
        self.running = True
        return self

    def stop(self) -> None:
        if self.root is None:
            return
        if self.running:
            subprocess.run(
                self._as_pg(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def url(self, dbname: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.url(dbname), **kwargs)

    def create_database(self, name: str, template: str | None = None) -> None:
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            if template:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            else:
                conn.execute(f'CREATE DATABASE "{name}"')

    def version(self) -> str:
        out = subprocess.run(
            [str(self.bin / "postgres"), "--version"], capture_output=True, text=True, check=True
        )
        return out.stdout.split()[2]

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(Exception):
            self.stop()
