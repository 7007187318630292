"""Helpers shared by the benchmarks: a live server on loopback, RSS sampling, test files
and a curl client (C, so the client is never the bottleneck)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import LiveServer, start_server, stop_server

__all__ = ["LiveServer", "RssSampler", "curl", "make_file", "start_server", "stop_server"]

MiB = 1024 * 1024


def make_file(path: Path, size: int) -> None:
    """``size`` bytes of incompressible data, no two 8 MiB blocks alike."""
    block = os.urandom(8 * MiB)
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            fh.write(block[: min(left, len(block))])
            block = block[1:] + block[:1]
            left -= len(block)


def curl(*args: str) -> float:
    """Run curl discarding the body; returns seconds (fails on HTTP errors)."""
    start = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", *args], check=True)
    return time.perf_counter() - start


class RssSampler:
    """Peak resident memory of a process tree (the server and its workers), sampled."""

    def __init__(self, pid: int, period: float = 0.05) -> None:
        self.pid, self.period, self.peak = pid, period, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(self.pid))
            time.sleep(self.period)


def _tree_rss(pid: int) -> int:
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids = [int(k) for k in fh.read().split()]
            for k in kids:
                out += [k, *_children(k)]
    except OSError:
        pass
    return out
