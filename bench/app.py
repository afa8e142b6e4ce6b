"""Running the app under test: manage.py commands and the gunicorn server, both with the
production settings (DJANGO_DEBUG=false) against the benchmark's own database."""

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from bench.common import PYTHON, ROOT, WORK, log


def app_env(
    database_url: str, *, secret_key: str, app_dir: Path = ROOT, settings: str = "bench.settings"
) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "JWT_", "LOGIN_RATE"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE=settings,
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secret_key,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
        BENCH_APP_DIR=str(app_dir),  # where manage.py and gunicorn run
        # Uploaded import files: the web server stores them, the worker reads them, so both
        # get the same folder (outside the frozen app copy).
        MEDIA_ROOT=str(WORK / "media"),
        # Scenario 12 holds 200 event streams with the admin's one token.
        EVENTS_MAX_STREAMS_PER_USER="1000",
    )
    return env


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def export_ref(ref: str) -> Path:
    """The app as committed at ``ref`` (``git archive``), plus this harness's bench/ package,
    in bench/.work/src-<commit>/: a run that does not move while someone edits the tree."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = WORK / f"src-{commit}"
    if not target.exists():
        partial = WORK / f"src-{commit}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive.stdout, check=True)
        partial.rename(target)
    shutil.rmtree(target / "bench", ignore_errors=True)
    shutil.copytree(
        ROOT / "bench", target / "bench", ignore=shutil.ignore_patterns(".work", "__pycache__")
    )
    return target


def export_worktree() -> Path:
    """A copy of the working tree as it is now (tracked and untracked files, minus what git
    ignores) in bench/.work/src-worktree/: edits made while the benchmark runs do not leak
    into it half-way."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    target = WORK / "src-worktree"
    shutil.rmtree(target, ignore_errors=True)
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def worktree_changes() -> int:
    """How many files differ from HEAD (the benchmark's own bench/ aside)."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return sum(1 for line in status if not line[3:].startswith("bench/"))


def manage(env: dict, *args: str, timeout: float | None = None) -> str:
    """Run ``manage.py ARGS``; return its stdout, raise with its stderr on failure."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=env["BENCH_APP_DIR"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def manage_background(env: dict, *args: str) -> subprocess.Popen:
    """Start ``manage.py ARGS`` and return at once; ``finish()`` waits for it."""
    return subprocess.Popen(
        [PYTHON, "manage.py", *args],
        cwd=env["BENCH_APP_DIR"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> None:
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(process.args[1:])} failed:\n{stderr[-3000:]}")


def django_json(env: dict, code: str):
    """Run ``code`` in ``manage.py shell``; it prints one JSON document as its last line."""
    out = manage(env, "shell", "-c", code)
    return json.loads(out.strip().splitlines()[-1])


# The server the app runs under: "asgi" (the production command, gunicorn's uvicorn workers,
# the default) or "wsgi" (gunicorn's sync workers, as before the real-time issue, with
# persistent connections instead of the pool). ``python -m bench --server wsgi`` sets it.
SERVER_COMMANDS = {
    "asgi": ["crm.asgi:application", "-k", "uvicorn_worker.UvicornWorker"],
    "wsgi": ["crm.wsgi"],
}


def bench_server() -> str:
    return os.environ.get("BENCH_SERVER", "asgi")


class Gunicorn:
    """The app as the README's production section runs it (``gunicorn crm.asgi:application
    -k uvicorn_worker.UvicornWorker``, or ``crm.wsgi`` with ``--server wsgi``), on a free
    port."""

    def __init__(self, env: dict, port: int, workers: int, log_name: str = "gunicorn"):
        self.env = env
        self.port = port
        self.workers = workers
        self.process: subprocess.Popen | None = None
        self.log_path = WORK / f"{log_name}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Gunicorn":
        WORK.mkdir(parents=True, exist_ok=True)
        env = dict(self.env)
        if bench_server() == "wsgi":
            env["DATABASE_POOL_MAX_SIZE"] = "0"  # one persistent connection per sync worker
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                *SERVER_COMMANDS[bench_server()],
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--timeout",
                "600",
                "--error-logfile",
                str(self.log_path),
            ],
            cwd=self.env["BENCH_APP_DIR"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not answer /healthz within 60 s")
        # Every worker must be up before anything is measured.
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.2)
        log(f"gunicorn ({bench_server()}): {self.workers} worker(s) on {self.base_url}")
        return self

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def worker_memory_kib(self, field: str = "VmHWM") -> list[int]:
        """``VmHWM`` (peak resident set) or ``VmRSS`` of each worker, in KiB."""
        values = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith(field + ":"):
                        values.append(int(line.split()[1]))
            except OSError:
                continue
        return values

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "Gunicorn":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


class Worker:
    """``manage.py worker`` (the task queue's worker, jobs/queue.py) with the same env as the
    server: the same DATABASE_URL and MEDIA_ROOT. Ready once it has registered itself in
    ``procrastinate_workers`` and its connection listens for new jobs (so a job queued next
    is taken at once, not at the next poll); stopped with SIGTERM (a running job finishes)."""

    def __init__(self, env: dict, database_url: str, log_name: str = "worker"):
        self.env = env
        self.database_url = database_url
        self.process: subprocess.Popen | None = None
        self.log_path = WORK / f"{log_name}.log"
        self._log = None

    def start(self) -> "Worker":
        import psycopg

        WORK.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "worker"],
            cwd=self.env["BENCH_APP_DIR"],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"manage.py worker exited; see {self.log_path}")
                registered = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
                listening = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query ILIKE 'LISTEN %'"
                ).fetchone()
                if registered[0] and listening[0]:
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError("manage.py worker was not listening within 60 s")
        log(f"worker: pid {self.process.pid}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "Worker":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
