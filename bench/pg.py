"""A throwaway PostgreSQL cluster for the benchmark: crm/db/embedded.py's cluster (the same
server binaries as make run and make test) in its own temporary directory on a free port,
stopped and removed when the benchmark ends, whether it passed or failed."""

import contextlib
import shutil
import tempfile
from pathlib import Path

import psycopg

from crm.db.embedded import Cluster as EmbeddedCluster
from crm.db.embedded import free_port

# PostgreSQL's defaults, as the docker-compose service runs it (planner costs, shared_buffers and
# durability included: fsync and synchronous_commit stay on), except what only speeds up the
# bulk load (index builds, checkpoints) and enough connections for every client.
SERVER_SETTINGS = {
    "max_connections": "400",  # scenario 12 holds 200 LISTEN connections of its own
    "maintenance_work_mem": "1GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
}

__all__ = ["Cluster", "free_port"]


class Cluster(EmbeddedCluster):
    def __init__(self):
        root = Path(tempfile.mkdtemp(prefix="crm-bench-pg-"))
        super().__init__(root, port=free_port(), settings=SERVER_SETTINGS)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def connect(self, dbname: str, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.url(dbname), **kwargs)

    def create_database(self, name: str, template: str | None = None) -> None:
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            if template:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            else:
                conn.execute(f'CREATE DATABASE "{name}"')

    def __enter__(self) -> "Cluster":
        self.init()
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
