"""Upload and download throughput through the HTTP API on loopback, against a same-run baseline.

Baseline: md5 and sha512 of the same bytes in two threads (the minimum work an upload must do).
Figures: upload with Content-Length and chunked (as glanceclient sends), download (full and
ranged), peak server RSS during a large upload. Client: curl (C, so the client is not the
bottleneck). Usage: python bench/bench_data_path.py [--size-mib 1024] [--rss-size-mib 4096]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _server import RssSampler, curl, make_file, start_server, stop_server

MiB = 1024 * 1024


def hash_baseline(path: Path) -> float:
    """Seconds to md5 + sha512 the file from page cache with two threads."""
    blocks: list[bytes] = []
    with open(path, "rb") as fh:
        while b := fh.read(MiB):
            blocks.append(b)

    def run(h: hashlib._Hash) -> None:
        for b in blocks:
            h.update(b)

    start = time.perf_counter()
    threads = [
        threading.Thread(target=run, args=(h,))
        for h in (hashlib.md5(usedforsecurity=False), hashlib.sha512())
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def create(url: str, token: str) -> str:
    r = httpx.post(
        f"{url}/v2/images",
        headers={"X-Auth-Token": token},
        json={"name": "bench", "disk_format": "raw", "container_format": "bare"},
    )
    r.raise_for_status()
    return str(r.json()["id"])


def upload(url: str, token: str, path: Path, chunked: bool) -> tuple[float, str]:
    """Seconds for one upload of ``path`` into a new image, and that image's id."""
    iid = create(url, token)
    # -T streams the file (with Content-Length unless chunked is asked for).
    body = ["-T", str(path)]
    if chunked:
        body = ["-H", "Transfer-Encoding: chunked", *body]
    seconds = curl(
        "-X",
        "PUT",
        "-H",
        f"X-Auth-Token: {token}",
        "-H",
        "Expect:",
        "-H",
        "Content-Type: application/octet-stream",
        *body,
        f"{url}/v2/images/{iid}/file",
    )
    return seconds, iid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rss-size-mib", type=int, default=4096)
    args = ap.parse_args()
    size = args.size_mib * MiB
    root = Path(tempfile.mkdtemp(prefix="glimpse-bench-"))
    src = root / "image.bin"
    make_file(src, size)
    server = start_server(root / "data")
    tok = server.token("P1")
    results: dict[str, float] = {}
    try:
        base = hash_baseline(src)
        results["hash_baseline_MBps"] = size / base / 1e6
        for chunked in (False, True):
            best = min(upload(server.url, tok, src, chunked)[0] for _ in range(2))
            results[f"upload_{'chunked' if chunked else 'length'}_MBps"] = size / best / 1e6
        _, iid = upload(server.url, tok, src, False)
        hdr = ["-H", f"X-Auth-Token: {tok}"]
        best = min(curl(*hdr, f"{server.url}/v2/images/{iid}/file") for _ in range(3))
        results["download_MBps"] = size / best / 1e6
        best = min(
            curl(*hdr, "-H", "Range: bytes=1048576-", f"{server.url}/v2/images/{iid}/file")
            for _ in range(3)
        )
        results["download_ranged_MBps"] = (size - MiB) / best / 1e6
        if args.rss_size_mib:
            big = root / "big.bin"
            with open(big, "wb") as fh:  # sparse: the server still hashes every byte
                fh.truncate(args.rss_size_mib * MiB)
            with RssSampler(server.process.pid) as rss:
                upload(server.url, tok, big, True)
            results["peak_rss_MB_during_big_upload"] = rss.peak / 1e6
            big.unlink()
    finally:
        stop_server(server)
        subprocess.run(["rm", "-rf", str(root)], check=False)
    results["upload_ratio_vs_hash"] = results["upload_length_MBps"] / results["hash_baseline_MBps"]
    results["upload_chunked_ratio_vs_hash"] = (
        results["upload_chunked_MBps"] / results["hash_baseline_MBps"]
    )
    results["download_GBps"] = results["download_MBps"] / 1000
    print(json.dumps({k: round(v, 2) for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
