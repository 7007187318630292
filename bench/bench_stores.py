"""Upload and download through the API: filesystem store vs S3 store (moto server), and
S3 downloads uncached vs from the local cache. Prints MB/s, ratios and the server's peak
RSS per phase (the whole process tree, sampled every 20 ms), which must stay far below the
image size: nothing buffers a whole image.

Set-up, all on loopback: ``moto_server`` in its own process; ``glimpse serve`` on granian
(1 worker, SQLite) with two stores (``local`` filesystem, ``s3``) and the cache on; curl
as the client (so the client costs little CPU on a 2-core machine).

Phases (same random file for every phase):
  upload local / upload s3          PUT /v2/images/{id}/file (X-Image-Meta-Store)
  download local                    GET, served through granian's file fast path
  download s3 streamed              GET with ``Range: bytes=0-`` (never fills the cache)
  download s3 first (fills cache)   GET: streamed from S3 while copied and verified
  download s3 cached                GET: served from the local cache file

Usage: python bench/bench_stores.py [size_MiB]   (default 1024)
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import psutil
from _server import curl, make_file

MiB = 1 << 20
PY = sys.executable
BIN = Path(PY).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


class PeakRss:
    """Samples the RSS of a process and its children in a thread."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            with suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def services(root: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """moto and glimpse, both stopped by PID at the end."""
    moto_port, port = free_port(), free_port()
    moto = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = None
    try:
        wait_http(f"http://127.0.0.1:{moto_port}/", moto)
        data = root / "data"
        data.mkdir()
        stores = [
            {"name": "local", "type": "filesystem", "path": str(data / "images")},
            {
                "name": "s3",
                "type": "s3",
                "endpoint_url": f"http://127.0.0.1:{moto_port}",
                "bucket": "glimpse-bench",
                "access_key": "test",
                "secret_key": "test",
                "addressing_style": "path",
                "create_bucket": True,
            },
        ]
        env = {
            **os.environ,
            "GLIMPSE_DATA_DIR": str(data),
            "GLIMPSE_STORES": json.dumps(stores),
            "GLIMPSE_DEFAULT_STORE": "local",
            "GLIMPSE_CACHE_ENABLED": "1",
            "GLIMPSE_CACHE_MAX_SIZE": str(64 * 1024 * MiB),
        }
        log = open(root / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
        server = subprocess.Popen(
            [PY, "-m", "glimpse", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(data), "--server", "granian"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        yield f"http://127.0.0.1:{port}", server
    finally:
        for proc in (server, moto):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()


def token(data_dir: Path, project: str, roles: str) -> str:
    out = subprocess.run(
        [PY, "-m", "glimpse", "token", "--data-dir", str(data_dir), "--user", "bench",
         "--project", project,
         "--roles", roles],
        check=True, capture_output=True, text=True,
        env={**os.environ, "GLIMPSE_DATA_DIR": str(data_dir)},
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    size = int(sys.argv[1]) * MiB if len(sys.argv) > 1 else 1024 * MiB
    root = Path(tempfile.mkdtemp(prefix="bench-stores-"))
    src = root / "image.bin"
    make_file(src, size)
    results: list[tuple[str, float, int]] = []
    try:
        with services(root) as (url, server):
            auth = ["-H", f"X-Auth-Token: {token(root / 'data', 'P1', 'member,reader')}"]
            ids = {}
            for store in ("local", "s3"):
                r = httpx.post(
                    f"{url}/v2/images",
                    json={"name": store, "disk_format": "raw", "container_format": "bare"},
                    headers={auth[1].split(": ")[0]: auth[1].split(": ")[1]},
                )
                ids[store] = r.json()["id"]
                with PeakRss(server.pid) as rss:
                    secs = curl(
                        "-T", str(src), "-X", "PUT", *auth,
                        "-H", "Content-Type: application/octet-stream",
                        "-H", f"X-Image-Meta-Store: {store}", "-H", "Expect:",
                        f"{url}/v2/images/{ids[store]}/file",
                    )  # fmt: skip
                results.append((f"upload {store}", secs, rss.peak))
            phases = [
                ("download local", ids["local"], []),
                ("download s3 streamed", ids["s3"], ["-H", "Range: bytes=0-"]),
                ("download s3 first (fills cache)", ids["s3"], []),
                ("download s3 cached", ids["s3"], []),
            ]
            for name, image_id, extra in phases:
                with PeakRss(server.pid) as rss:
                    secs = curl(*auth, *extra, f"{url}/v2/images/{image_id}/file")
                results.append((name, secs, rss.peak))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(size, results)


def report(size: int, results: list[tuple[str, float, int]]) -> None:
    rate = {name: size / secs / 1e6 for name, secs, _ in results}
    print(f"\n{size / MiB:.0f} MiB through the API (granian, 1 worker; moto S3 on loopback)")
    print(f"{'phase':34} {'seconds':>8} {'MB/s':>8} {'peak RSS MiB':>13}")
    for name, secs, peak in results:
        print(f"{name:34} {secs:8.2f} {rate[name]:8.1f} {peak / MiB:13.0f}")
    print("\nratios")
    print(f"  upload s3 / local                  {rate['upload s3'] / rate['upload local']:.2f}")
    print(
        f"  download s3 streamed / local       "
        f"{rate['download s3 streamed'] / rate['download local']:.2f}"
    )
    print(
        f"  download s3 cached / s3 streamed   "
        f"{rate['download s3 cached'] / rate['download s3 streamed']:.2f}"
    )
    print(
        f"  download s3 cached / local         "
        f"{rate['download s3 cached'] / rate['download local']:.2f}"
    )
    print(f"  peak RSS / image size              {max(p for *_, p in results) / size:.2f}")


if __name__ == "__main__":
    main()
