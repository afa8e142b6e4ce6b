"""``python -m bench [--quick] [--workers N] [--only 1,3,...]``: run, then print the table."""

import argparse
import os
import platform
import signal
import subprocess
import sys
from datetime import datetime

from bench.common import log
from bench.noise import CpuWatch
from bench.profiles import FULL, QUICK


def _stop_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through the context managers: cleanup runs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20k-row mode, under 2 minutes")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument(
        "--server",
        choices=("asgi", "wsgi"),
        default="asgi",
        help="gunicorn's uvicorn workers on crm.asgi (the production command, default) or its "
        "sync workers on crm.wsgi",
    )
    parser.add_argument(
        "--only", help="comma-separated scenario numbers, e.g. 1,3 (default: all)", default=None
    )
    parser.add_argument(
        "--ref",
        help="benchmark the app as committed at this git ref (e.g. HEAD) instead of a copy of "
        "the working tree taken at start",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    os.environ["BENCH_SERVER"] = args.server
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    if not os.environ.get("DJANGO_SECRET_KEY"):
        # The harness imports small pure helpers of the app (search_key, iso_utc), never its
        # settings; this only keeps an accidental settings import from failing.
        os.environ["DJANGO_SECRET_KEY"] = "bench-harness-not-a-server"

    from bench.app import export_ref, export_worktree, worktree_changes
    from bench.runner import run

    profile = QUICK if args.quick else FULL
    only = {s.strip() for s in args.only.split(",")} if args.only else None
    started = datetime.now().astimezone()
    log(f"mode {profile.name}, {args.workers} gunicorn workers")
    if args.ref:
        app_dir = export_ref(args.ref)
        source = f"git {args.ref} = {_git_head(args.ref)}"
    else:
        app_dir = export_worktree()
        changed = worktree_changes()
        source = f"working tree at {_git_head()}" + (
            f" + {changed} uncommitted file(s) outside bench/" if changed else " (clean)"
        )
    log(f"app under test: {source} ({app_dir})")
    watch = CpuWatch()
    watch.start()
    try:
        report = run(profile, args.workers, app_dir, watch, only)
    finally:
        watch.stop()
    finished = datetime.now().astimezone()
    print(f"# Benchmark results ({profile.name} mode)")
    print()
    print(f"- started {started:%Y-%m-%d %H:%M:%S %Z}, took {(finished - started).seconds} s")
    print(f"- command: {' '.join(['python -m bench', *(argv if argv else sys.argv[1:])])}")
    print(f"- machine: {os.cpu_count()} CPUs, {_memory()}, {platform.platform()}")
    print(f"- app: {source}; gunicorn workers: {args.workers} ({args.server})")
    print(f"- machine load: {watch.summary()}")
    print()
    print(report.table())
    print()
    print(report.summary())
    return 0


def _memory() -> str:
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        return f"{kib / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        return "unknown RAM"


def _git_head(ref: str = "HEAD") -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", ref], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
