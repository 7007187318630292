"""Request-path throughput with wrk, as a fraction of the server stack's own limit.

First a trivial ASGI app (bench/_trivial.py: 1 KB of JSON) runs on the same server (granian)
with the same worker count: that is the baseline, the most this stack serves on this machine.
Then Glimpse on SQLite and on PostgreSQL, with a seeded catalog (images with properties, tags
and members across twenty projects), is driven with ``wrk -t2 -c32`` for each profile:

  rest_get     GET /v2/images/{id} (random visible ids)
  rest_list    GET /v2/images?limit=25&os_distro=ubuntu (a property filter)
  rest_create  POST /v2/images
  rest_patch   PATCH /v2/images/{id} (a property of the caller's images)
  rest_upload  PUT /v2/images/{id}/file, 64 KiB (each queued image once)
  rest_delete  DELETE /v2/images/{id} (each image once)
  gql_image    GraphQL image(id) with the detail fields of the console (over GET)
  gql_images   GraphQL images(first: 25) with the list fields of the console (over GET)
  mixed        55% get, 15% list, 10% create, 10% patch, 5% upload of 64 KiB, 5% delete

Each row prints requests/s, the ratio to the baseline, p50/p99/max latency, server CPU per
request (the whole server process tree, from /proc) and the count of failed answers.

Usage: python bench/bench_http.py [--db sqlite,postgres] [--images 5000] [--seconds 10]
       [--workers 2] [--only rest_get,gql_image] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import _wrk
import httpx
from _server import start_server, stop_server
from sqlalchemy import insert

from glimpse.core.db import Database
from glimpse.models.migrate import upgrade
from glimpse.models.tables import Image, ImageMember, ImageProperty, ImageTag
from tests.conftest import PG_ADMIN_URL, free_port

CALLER = "P1"
PROJECTS = [f"P{i}" for i in range(20)]
DISTROS = ["ubuntu", "debian", "fedora", "centos", "windows"]
GQL_IMAGE = (
    "query($id: ID!) { image(id: $id) { id name status visibility protected osHidden owner "
    "minDisk minRam diskFormat containerFormat size virtualSize checksum osHashAlgo "
    "osHashValue createdAt updatedAt tags properties { key value } stores } }"
)
GQL_IMAGES = (
    "{ images(first: 25) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor } "
    "nodes { id name status visibility diskFormat size owner updatedAt protected tags } } }"
)
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


# ---------------------------------------------------------------------------- catalog


def image_row(i: int, t0: datetime) -> dict[str, Any]:
    roll = i % 20
    visibility = (
        "public" if roll < 4 else "community" if roll < 5 else "private" if roll < 10 else "shared"
    )
    return {
        "id": str(uuid.UUID(int=random.getrandbits(128), version=4)),
        "name": f"image-{i:07d}",
        "status": "active",
        "visibility": visibility,
        "protected": False,
        "os_hidden": False,
        "owner": PROJECTS[i % len(PROJECTS)],
        "min_disk": 0,
        "min_ram": 0,
        "disk_format": "qcow2",
        "container_format": "bare",
        "size": 1_000_000 + i,
        "virtual_size": 10_000_000 + i,
        "checksum": f"{i:032x}",
        "os_hash_algo": "sha512",
        "os_hash_value": f"{i:0128x}",
        "created_at": t0 + timedelta(seconds=i),
        "updated_at": t0 + timedelta(seconds=i),
        "deleted": False,
    }


def relations(i: int, img: dict[str, Any]) -> tuple[list[Any], list[Any], list[Any]]:
    iid = img["id"]
    props = {
        "os_distro": DISTROS[i % len(DISTROS)],
        "os_version": f"{20 + i % 5}.04",
        "architecture": "x86_64" if i % 4 else "aarch64",
        "hw_disk_bus": "virtio",
        "hw_scsi_model": "virtio-scsi",
        "os_type": "windows" if i % 5 == 4 else "linux",
        "build_id": f"build-{i}",
        "description": f"Seeded image number {i} for the request-path benchmark",
    }
    p = [{"image_id": iid, "name": k, "value": v} for k, v in props.items()]
    t = [{"image_id": iid, "value": f"tag-{(i + k) % 30}"} for k in range(3)]
    m = []
    if img["visibility"] == "shared":
        for k in (1, 2):
            member = PROJECTS[(i + k * 7) % len(PROJECTS)]
            if member != img["owner"]:
                status = "accepted" if k == 1 else "pending"
                m.append({"image_id": iid, "member": member, "status": status})
    return p, t, m


def caller_image(kind: str, i: int, t0: datetime) -> dict[str, Any]:
    """An image of the caller's project for the write profiles: ``queued`` ones to upload
    to, ``active`` ones to delete."""
    row = image_row(i, t0)
    row.update(owner=CALLER, visibility="private", name=f"{kind}-{i}")
    if kind == "queued":
        row.update(
            status="queued", size=None, virtual_size=None, checksum=None, os_hash_algo=None,
            os_hash_value=None, disk_format="raw",
        )  # fmt: skip
    return row


async def seed(url: str, n: int, writable: int = 4000) -> dict[str, list[str]]:
    """Migrate and bulk-load ``n`` images; returns ids the caller can read and write
    (``visible``, ``owned``) and ids each used once: ``queued`` (upload) and ``deletable``."""
    random.seed(7)
    db = Database(url)
    async with db.engine.begin() as conn:
        await upgrade(conn, url)
    t0 = datetime(2026, 1, 1)
    visible: list[str] = []
    owned: list[str] = []
    async with db.engine.begin() as conn:
        for start in range(0, n, 2000):
            imgs, props, tags, members = [], [], [], []
            for i in range(start, min(n, start + 2000)):
                img = image_row(i, t0)
                p, t, m = relations(i, img)
                imgs.append(img)
                props += p
                tags += t
                members += m
                mine = img["owner"] == CALLER
                shared_to_me = any(r["member"] == CALLER for r in m)
                if mine:
                    owned.append(img["id"])
                if mine or shared_to_me or img["visibility"] in ("public", "community"):
                    visible.append(img["id"])
            await conn.execute(insert(Image), imgs)
            await conn.execute(insert(ImageProperty), props)
            await conn.execute(insert(ImageTag), tags)
            if members:
                await conn.execute(insert(ImageMember), members)
        extra: dict[str, list[str]] = {"queued": [], "deletable": []}
        for k, (kind, ids) in enumerate(extra.items()):
            rows = [caller_image(kind, n + k * writable + i, t0) for i in range(writable)]
            ids += [r["id"] for r in rows]
            await conn.execute(insert(Image), rows)
            props = [p for i, r in enumerate(rows) for p in relations(n + k * writable + i, r)[0]]
            await conn.execute(insert(ImageProperty), props)
    async with db.engine.connect() as conn:  # what autovacuum / the server's ANALYZE do
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("ANALYZE")
    await db.dispose()
    random.shuffle(visible)
    return {"visible": visible[:2000], "owned": owned[:2000], **extra}


async def _pg_create() -> str:
    import asyncpg

    name = f"glimpse_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def _pg_drop(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# ---------------------------------------------------------------------------- profiles


def profiles(token: str) -> dict[str, list[tuple[int, str, str, dict[str, str], str | None]]]:
    auth = {"X-Auth-Token": token}
    as_json = {**auth, "Content-Type": "application/json"}
    create_body = json.dumps(
        {
            "name": "bench-{n}",
            "disk_format": "qcow2",
            "container_format": "bare",
            "tags": ["bench", "wrk"],
            "os_distro": "ubuntu",
            "hw_disk_bus": "virtio",
        }
    )
    patch_body = json.dumps([{"op": "add", "path": "/bench_counter", "value": "{n}"}])
    gql_image = "/graphql?" + urllib.parse.urlencode(
        {"query": GQL_IMAGE, "variables": '{"id":"{id:visible}"}'}, safe="{}:"
    )
    gql_images = "/graphql?" + urllib.parse.urlencode({"query": GQL_IMAGES})
    get = (1, "GET", "/v2/images/{id:visible}", auth, None)
    lst = (1, "GET", "/v2/images?limit=25&os_distro=ubuntu", auth, None)
    create = (1, "POST", "/v2/images", as_json, create_body)
    patch = (1, "PATCH", "/v2/images/{id:owned}", {**auth, "Content-Type": PATCH_TYPE}, patch_body)
    upload = (
        1,
        "PUT",
        "/v2/images/{next:queued}/file",
        {**auth, "Content-Type": "application/octet-stream"},
        "x" * 65536,
    )
    delete = (1, "DELETE", "/v2/images/{next:deletable}", auth, None)
    return {
        "rest_get": [get],
        "rest_list": [lst],
        "rest_create": [create],
        "rest_patch": [patch],
        "rest_upload": [upload],
        "rest_delete": [delete],
        "gql_image": [(1, "GET", gql_image, auth, None)],
        "gql_images": [(1, "GET", gql_images, auth, None)],
        "mixed": [
            (55, *get[1:]),
            (15, *lst[1:]),
            (10, *create[1:]),
            (10, *patch[1:]),
            (5, *upload[1:]),
            (5, *delete[1:]),
        ],
    }


def check_profile(base: str, token: str, ids: dict[str, list[str]]) -> None:
    """One request of each kind by hand: a profile that only produces errors measures
    nothing."""
    h = {"X-Auth-Token": token}
    with httpx.Client(base_url=base, headers=h, timeout=30) as c:
        c.get(f"/v2/images/{ids['visible'][0]}").raise_for_status()
        c.get("/v2/images?limit=25&os_distro=ubuntu").raise_for_status()
        r = c.get(
            "/graphql",
            params={"query": GQL_IMAGE, "variables": json.dumps({"id": ids["visible"][0]})},
        )
        r.raise_for_status()
        assert r.json()["data"]["image"]["id"] == ids["visible"][0], r.text
        r = c.get("/graphql", params={"query": GQL_IMAGES})
        assert len(r.json()["data"]["images"]["nodes"]) == 25, r.text


# ---------------------------------------------------------------------------- servers


def start_trivial(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "_trivial:app",
        ],
        cwd=Path(__file__).parent,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the trivial app did not start")


def measure_baseline(workers: int, seconds: int) -> _wrk.Result:
    proc, url = start_trivial(workers)
    try:
        lua = _wrk.script([(1, "GET", "/", {}, None)], {})
        _wrk.run(url, lua, seconds=2, server_pid=proc.pid)  # warm-up
        return _wrk.run(url, lua, seconds=seconds, server_pid=proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _split(ids: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Ids for the warm-up and for the measured run: images used once (uploads, deletes)
    are not shared between the two."""
    warm = {k: (v[:500] if k in ("queued", "deletable") else v) for k, v in ids.items()}
    run = {k: (v[500:] if k in ("queued", "deletable") else v) for k, v in ids.items()}
    return warm, run


def run_db(kind: str, args: argparse.Namespace) -> dict[str, _wrk.Result]:
    root = Path(tempfile.mkdtemp(prefix=f"glimpse-http-{kind}-"))
    data = root / "data"
    data.mkdir()
    url = (
        f"sqlite+aiosqlite:///{data / 'glimpse.db'}"
        if kind == "sqlite"
        else asyncio.run(_pg_create())
    )
    env = {"GLIMPSE_DATABASE_URL": url, "GLIMPSE_TASKS_RUN_IN_PROCESS": "true"}
    try:
        started = time.perf_counter()
        ids = asyncio.run(seed(url, args.images))
        print(f"[{kind}] seeded {args.images} images in {time.perf_counter() - started:.1f} s")
        server = start_server(data, env=env, workers=args.workers)
        try:
            token = server.token(CALLER, "member", "reader")
            check_profile(server.url, token, ids)
            results = {}
            for name, reqs in profiles(token).items():
                if args.only and name not in args.only:
                    continue
                warm, measured = _split(ids)
                _wrk.run(server.url, _wrk.script(reqs, warm), seconds=2)  # warm-up
                results[name] = _wrk.run(
                    server.url,
                    _wrk.script(reqs, measured),
                    seconds=args.seconds,
                    server_pid=server.process.pid,
                )
                print(f"[{kind}] {name}: {results[name].rps:.0f} req/s", flush=True)
            return results
        finally:
            stop_server(server)
    finally:
        if kind == "postgres":
            asyncio.run(_pg_drop(url))
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------- report


def report(base: _wrk.Result, results: dict[str, dict[str, _wrk.Result]]) -> None:
    print()
    print(
        f"baseline (trivial ASGI app, same server and workers): {base.rps:,.0f} req/s, "
        f"p50 {base.p50_ms:.2f} ms, CPU {base.cpu_ms_per_request or 0:.3f} ms/request"
    )
    print()
    header = (
        f"{'db':8} {'profile':12} {'req/s':>8} {'of base':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'CPU ms/req':>10} {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    for kind, rows in results.items():
        for name, r in rows.items():
            print(
                f"{kind:8} {name:12} {r.rps:8.0f} {r.rps / base.rps:8.1%} {r.p50_ms:8.2f} "
                f"{r.p99_ms:8.2f} {r.max_ms:8.1f} {r.cpu_ms_per_request or 0:10.3f} {r.errors:6d}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    args.only = {s for s in args.only.split(",") if s}
    _wrk.require_wrk()
    base = measure_baseline(args.workers, args.seconds)
    print(f"baseline: {base.rps:.0f} req/s", flush=True)
    results = {kind: run_db(kind, args) for kind in args.db.split(",") if kind}
    report(base, results)
    if args.json:
        out = {
            "baseline": base.__dict__,
            "results": {k: {n: r.__dict__ for n, r in v.items()} for k, v in results.items()},
            "images": args.images,
            "workers": args.workers,
        }
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
