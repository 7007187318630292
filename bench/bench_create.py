"""Create latency (POST /v2/images, createImage) and a 25-image page, p50 over a run.

The baseline is a trivial authenticated GET (/v2/schemas/image) in the same run: what the
server and client cost before any catalog work. Usage: python bench/bench_create.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _server import start_server, stop_server


def p50(fn: object, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    server = start_server(Path(tempfile.mkdtemp(prefix="glimpse-create-")) / "data")
    try:
        h = {"X-Auth-Token": server.token("P1")}
        body = {
            "name": "bench",
            "disk_format": "qcow2",
            "container_format": "bare",
            "tags": ["a", "b", "c"],
            "os_distro": "debian",
            "hw_disk_bus": "virtio",
        }
        gql = {
            "query": 'mutation { createImage(input: {name: "g", diskFormat: "raw", '
            'containerFormat: "bare", tags: ["a"]}) { id } }'
        }
        with httpx.Client(base_url=server.url, headers=h) as c:
            base = p50(lambda: c.get("/v2/schemas/image").raise_for_status(), n)
            rest = p50(lambda: c.post("/v2/images", json=body).raise_for_status(), n)
            graphql = p50(lambda: c.post("/graphql", json=gql).raise_for_status(), n)
            page = p50(lambda: c.get("/v2/images?limit=25").raise_for_status(), n)
    finally:
        stop_server(server)
    print(f"baseline GET /v2/schemas/image p50 {base:6.2f} ms")
    print(f"POST /v2/images           p50 {rest:6.2f} ms  ({rest / base:.1f}x baseline)")
    print(f"createImage mutation      p50 {graphql:6.2f} ms  ({graphql / base:.1f}x baseline)")
    print(f"GET /v2/images?limit=25   p50 {page:6.2f} ms  ({page / base:.1f}x baseline)")


if __name__ == "__main__":
    main()
