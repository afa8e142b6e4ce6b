"""How busy the machine was with other work during the run.

Every 2 s the watcher reads each process's CPU time from /proc. Time used by this harness and
its children (gunicorn, Radicale, manage.py) or by the benchmark's PostgreSQL cluster is ours;
everything else (someone's test suite, say) competed with the benchmark for the same cores and
is reported under the table, so that a reader can tell a quiet run from a noisy one."""

import os
import threading
import time
from collections import Counter
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _snapshot() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, CPU ticks so far, command name)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        out[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), name)
    return out


class CpuWatch(threading.Thread):
    def __init__(self, interval: float = 2.0):
        super().__init__(daemon=True)
        self.interval = interval
        self.roots = {os.getpid()}
        self.others: Counter = Counter()
        self.ours = 0
        self._seen: dict[int, int] = {}
        self._stop_event = threading.Event()
        self._t0 = time.monotonic()
        self._first = True

    def add_root(self, pid: int) -> None:
        self.roots.add(pid)

    def _is_ours(self, pid: int, snapshot) -> bool:
        for _ in range(64):
            if pid in self.roots:
                return True
            if pid not in snapshot or pid <= 1:
                return False
            pid = snapshot[pid][0]
        return False

    def _sample(self) -> None:
        snapshot = _snapshot()
        for pid, (_, ticks, name) in snapshot.items():
            before = self._seen.get(pid, ticks if self._first else 0)
            self._seen[pid] = ticks
            delta = ticks - before
            if delta <= 0:
                continue
            if self._is_ours(pid, snapshot):
                self.ours += delta
            else:
                self.others[name] += delta
        self._first = False

    def run(self) -> None:
        while not self._stop_event.is_set():
            self._sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self._sample()

    def summary(self) -> str:
        wall = time.monotonic() - self._t0
        other = sum(self.others.values()) / TICK
        share = other / (wall * (os.cpu_count() or 1)) * 100
        busiest = self.others.most_common(3)
        top = ", ".join(f"{name} {ticks / TICK:.0f} s" for name, ticks in busiest)
        return (
            f"other processes used {other:.0f} CPU-seconds during the {wall:.0f} s run "
            f"({share:.0f}% of the machine{'; ' + top if top else ''}); "
            f"the benchmark itself {self.ours / TICK:.0f} CPU-seconds"
        )
