"""List latency for a page of 25 images from catalogs of 1k, 10k and 100k images.

Each image has 10 custom properties and 3 tags. Measures p50/p95 of the first page and of a
page deep in the catalog (keyset: marker / cursor), through REST and GraphQL, on SQLite and
PostgreSQL. The ratio p50(100k)/p50(1k) shows whether pagination cost grows with the catalog
(target: within 2x). Usage: python bench/bench_list.py [--sizes 1000,10000,100000] [--db both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _server import start_server, stop_server
from sqlalchemy import insert

from glimpse.core.db import Database
from glimpse.models.migrate import upgrade
from glimpse.models.tables import Image, ImageProperty, ImageTag

GQL = """query($after: String) { images(first: 25, after: $after) {
  edges { cursor node { id name status size visibility owner diskFormat createdAt
          tags properties { key value } } } pageInfo { hasNextPage endCursor } } }"""


async def seed(url: str, n: int) -> list[str]:
    db = Database(url)
    async with db.engine.begin() as conn:
        await upgrade(conn, url)
    t0 = datetime(2030, 1, 1)
    ids: list[str] = []
    batch = 2000
    async with db.engine.begin() as conn:
        for start in range(0, n, batch):
            imgs, props, tags = [], [], []
            for i in range(start, min(n, start + batch)):
                iid = str(uuid.uuid4())
                ids.append(iid)
                imgs.append(
                    {
                        "id": iid,
                        "name": f"image-{i:07d}",
                        "status": "active",
                        "visibility": "public" if i % 3 == 0 else "private",
                        "protected": False,
                        "os_hidden": False,
                        "owner": f"P{i % 7}",
                        "min_disk": 0,
                        "min_ram": 0,
                        "disk_format": "qcow2",
                        "container_format": "bare",
                        "size": 1000 + i,
                        "created_at": t0 + timedelta(seconds=i),
                        "updated_at": t0 + timedelta(seconds=i),
                        "deleted": False,
                    }
                )
                props += [
                    {"image_id": iid, "name": f"prop_{k}", "value": f"value-{i}-{k}"}
                    for k in range(10)
                ]
                tags += [{"image_id": iid, "value": f"tag-{(i + k) % 50}"} for k in range(3)]
            await conn.execute(insert(Image), imgs)
            await conn.execute(insert(ImageProperty), props)
            await conn.execute(insert(ImageTag), tags)
    if db.is_postgres:  # what autovacuum does shortly after a bulk load
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("ANALYZE")
    await db.dispose()
    return ids


def measure(client: httpx.Client, fn: Any, repeats: int) -> dict[str, float]:
    for _ in range(5):
        fn(client)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(client)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(len(times) * 0.95) - 1]}


def run_size(db_kind: str, n: int, repeats: int, pg_admin: str) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="glimpse-listbench-"))
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{root / 'data' / 'glimpse.db'}"
        (root / "data").mkdir(parents=True)
    else:
        url = asyncio.run(_pg_create(pg_admin))
    start = time.perf_counter()
    ids = asyncio.run(seed(url, n))
    seed_s = time.perf_counter() - start
    server = start_server(root / "data", env={"GLIMPSE_DATABASE_URL": url})
    token = server.token("P1", "member", "reader")
    out: dict[str, Any] = {"seed_s": round(seed_s, 1)}
    try:
        with httpx.Client(base_url=server.url, headers={"X-Auth-Token": token}) as c:
            deep_marker = _deep_marker(c, ids)
            cursor = _deep_cursor(c, n)
            out["rest_first"] = measure(c, lambda c: _ok(c.get("/v2/images?limit=25")), repeats)
            out["rest_deep"] = measure(
                c, lambda c: _ok(c.get(f"/v2/images?limit=25&marker={deep_marker}")), repeats
            )
            out["graphql_first"] = measure(
                c, lambda c: _ok(c.post("/graphql", json={"query": GQL})), repeats
            )
            out["graphql_deep"] = measure(
                c,
                lambda c: _ok(
                    c.post("/graphql", json={"query": GQL, "variables": {"after": cursor}})
                ),
                repeats,
            )
    finally:
        stop_server(server)
        if db_kind == "postgres":
            asyncio.run(_pg_drop(pg_admin, url))
    return out


def _ok(r: httpx.Response) -> None:
    r.raise_for_status()
    if "errors" in r.text[:20]:
        raise RuntimeError(r.text[:300])


def _deep_marker(c: httpx.Client, ids: list[str]) -> str:
    """An image about two thirds into the default (newest first) order that P1 can see."""
    visible = [i for k, i in enumerate(ids) if k % 3 == 0 or k % 7 == 1]
    return visible[len(visible) // 3]


def _deep_cursor(c: httpx.Client, n: int) -> str:
    marker_page = c.post("/graphql", json={"query": GQL}).json()
    return str(marker_page["data"]["images"]["pageInfo"]["endCursor"])


async def _pg_create(admin: str) -> str:
    import asyncpg

    name = f"glimpse_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name


async def _pg_drop(admin: str, url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin)
    await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--db", default="both", choices=("sqlite", "postgres", "both"))
    ap.add_argument("--repeats", type=int, default=60)
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    report: dict[str, Any] = {}
    for kind in kinds:
        for n in sizes:
            report[f"{kind}/{n}"] = run_size(kind, n, args.repeats, args.pg_admin)
            print(kind, n, json.dumps(report[f"{kind}/{n}"]), flush=True)
        for what in ("rest_first", "rest_deep", "graphql_first", "graphql_deep"):
            small, big = report[f"{kind}/{sizes[0]}"][what], report[f"{kind}/{sizes[-1]}"][what]
            ratio = big["p50_ms"] / small["p50_ms"]
            print(f"{kind} {what}: p50 {sizes[-1]} / p50 {sizes[0]} = {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
