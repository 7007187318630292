"""GraphQL vs REST for the same page: 100 images, 10 fields, tags and properties.

Starts ``glimpse serve`` (granian, one worker) on loopback with a fresh data directory, seeds
100 images (3 tags and 10 custom properties each), then measures, in the same run:

- latency of one request at a time (p50, p95) for the GraphQL query and for
  ``GET /v2/images?limit=100``;
- requests per second with 16 concurrent clients (httpx, keep-alive).

Prints the figures and the GraphQL/REST ratios; the target is GraphQL within 1.5x of REST.
Usage: python bench/bench_graphql_vs_rest.py [--seconds 5] [--images 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

QUERY = """query Page($n: Int) { images(first: $n) { edges { node {
  id name status visibility size diskFormat containerFormat owner createdAt updatedAt
  tags propertiesJson
} } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "GLIMPSE_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "glimpse",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def mint(data_dir: Path) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "glimpse",
            "token",
            "--data-dir",
            str(data_dir),
            "--user",
            "bench",
            "--project",
            "bench",
            "--roles",
            "member,reader",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def seed(client: httpx.Client, n: int) -> None:
    mutation = "mutation($i: CreateImageInput!) { createImage(input: $i) { id } }"
    for i in range(n):
        image = {
            "name": f"image-{i:04d}",
            "diskFormat": "qcow2",
            "containerFormat": "bare",
            "tags": [f"t{i % 7}", "bench", f"batch-{i // 10}"],
            "properties": [{"key": f"prop_{j}", "value": f"value-{i}-{j}"} for j in range(10)],
        }
        r = client.post("/graphql", json={"query": mutation, "variables": {"i": image}})
        assert "errors" not in r.json(), r.text


def graphql_request(n: int) -> tuple[str, str, dict[str, Any]]:
    return ("POST", "/graphql", {"json": {"query": QUERY, "variables": {"n": n}}})


def rest_request(n: int) -> tuple[str, str, dict[str, Any]]:
    return ("GET", f"/v2/images?limit={n}", {})


async def latency(
    client: httpx.AsyncClient, req: tuple[str, str, dict[str, Any]], count: int
) -> list[float]:
    method, path, kw = req
    out = []
    for _ in range(count):
        t = time.perf_counter()
        r = await client.request(method, path, **kw)
        out.append(time.perf_counter() - t)
        assert r.status_code == 200
    return out


async def throughput(
    client: httpx.AsyncClient,
    req: tuple[str, str, dict[str, Any]],
    seconds: float,
    concurrency: int = 16,
) -> float:
    method, path, kw = req
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            r = await client.request(method, path, **kw)
            assert r.status_code == 200
            done += 1

    start_t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - start_t)


async def measure(url: str, bearer: str, n: int, seconds: float) -> dict[str, dict[str, float]]:
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    headers = {"authorization": f"Bearer {bearer}"}
    results: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=60
    ) as client:
        g = await client.post("/graphql", json=graphql_request(n)[2]["json"])
        r = await client.get(f"/v2/images?limit={n}")
        assert len(g.json()["data"]["images"]["edges"]) == n, g.text[:300]
        assert len(r.json()["images"]) == n
        for req in (graphql_request(n), rest_request(n)):
            await latency(client, req, 20)  # warm-up
        for name, req in (("graphql", graphql_request(n)), ("rest", rest_request(n))):
            lat = sorted(await latency(client, req, 100))
            rps = await throughput(client, req, seconds)
            results[name] = {
                "p50_ms": statistics.median(lat) * 1000,
                "p95_ms": lat[int(len(lat) * 0.95) - 1] * 1000,
                "rps16": rps,
                "bytes": float(len(g.content if name == "graphql" else r.content)),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--images", type=int, default=100)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="glimpse-bench-"))
    proc, url = start(root / "data")
    try:
        bearer = mint(root / "data")
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {bearer}"}) as c:
            seed(c, args.images)
        res = asyncio.run(measure(url, bearer, args.images, args.seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(root, ignore_errors=True)
    g, r = res["graphql"], res["rest"]
    print(f"page of {args.images} images, 10 fields + tags + properties; server: granian, 1 worker")
    for name, v in res.items():
        print(
            f"  {name:8s} p50 {v['p50_ms']:7.2f} ms  p95 {v['p95_ms']:7.2f} ms  "
            f"16 clients {v['rps16']:7.1f} req/s  body {v['bytes'] / 1024:6.1f} KiB"
        )
    print(f"  ratio GraphQL/REST time (p50): {g['p50_ms'] / r['p50_ms']:.2f}x  (target <= 1.5x)")
    print(f"  ratio REST/GraphQL req/s (16 clients): {r['rps16'] / g['rps16']:.2f}x")


if __name__ == "__main__":
    main()
