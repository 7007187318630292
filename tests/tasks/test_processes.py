"""Real processes: a GraphQL subscription over a WebSocket, a worker killed mid-copy, and
two API processes plus two workers sharing one PostgreSQL database and one S3 server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.conftest import LiveServer, _empty_pg, start_server, stop_server
from tests.tasks.conftest import md5

MiB = 1024 * 1024
IMAGE_STATUS = "subscription($id: ID!) { imageStatus(id: $id) { status action } }"
TASK_PROGRESS = "subscription($id: ID!) { taskProgress(id: $id) { status progress } }"
LOOPBACK = {
    "GLIMPSE_IMPORTS_ALLOW_PRIVATE_ADDRESSES": "true",
    "GLIMPSE_IMPORTS_ALLOWED_PORTS": "[]",
    "GLIMPSE_TASKS_POLL_SECONDS": "0.1",
}


class Procs:
    """Servers and workers started by a test, stopped by PID at the end."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env
        self.servers: list[LiveServer] = []
        self.workers: dict[str, subprocess.Popen[bytes]] = {}

    def server(self) -> LiveServer:
        srv = start_server(self.root / "data", env=self.env)
        self.servers.append(srv)
        return srv

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"worker-{name}.log", "wb")  # noqa: SIM115 - lives with it
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "glimpse",
                "worker",
                "--data-dir",
                str(self.root / "data"),
                "--id",
                name,
                "--concurrency",
                "1",
            ],
            env={**os.environ, "GLIMPSE_DATA_DIR": str(self.root / "data"), **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.root / f"worker-{name}.log").read_text()

    def stop(self) -> None:
        for proc in self.workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for srv in self.servers:
            stop_server(srv)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Any]:
    made: list[Procs] = []

    def make(env: dict[str, str]) -> Procs:
        p = Procs(tmp_path, env)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


def _h(srv: LiveServer, project: str = "P1", *roles: str) -> dict[str, str]:
    return {"X-Auth-Token": srv.token(project, *(roles or ("member", "reader")))}


async def _image(c: httpx.AsyncClient, h: dict[str, str], data: bytes | None) -> str:
    r = await c.post(
        "/v2/images",
        headers=h,
        json={"name": "big", "disk_format": "raw", "container_format": "bare"},
    )
    assert r.status_code == 201, r.text
    image_id: str = r.json()["id"]
    if data is not None:
        r = await c.put(
            f"/v2/images/{image_id}/file",
            content=data,
            headers={**h, "Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 204, r.text
    return image_id


async def _task(c: httpx.AsyncClient, h: dict[str, str], task_id: str) -> dict[str, Any]:
    q = "query($id: ID!) { task(id: $id) { status progress attempts message result } }"
    r = await c.post("/graphql", headers=h, json={"query": q, "variables": {"id": task_id}})
    task: dict[str, Any] = r.json()["data"]["task"]
    return task


async def _until_done(
    c: httpx.AsyncClient, h: dict[str, str], task_id: str, seconds: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        task = await _task(c, h, task_id)
        if task["status"] in ("SUCCESS", "FAILURE"):
            return task
        await asyncio.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish")


async def test_subscriptions_over_websocket(procs: Any, file_server: tuple[str, Path]) -> None:
    base, root = file_server
    data = os.urandom(6 * MiB)
    (root / "disk.raw").write_bytes(data)
    srv = procs({**LOOPBACK, "GLIMPSE_TASKS_IO_RATE_LIMIT": str(3 * MiB)}).server()
    h = _h(srv)
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as c:
        image_id = await _image(c, h, None)
        ws_url = srv.url.replace("http://", "ws://") + "/graphql"
        async with connect(
            ws_url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        ) as ws:
            # credentials in connection_init, as a browser (no WebSocket headers) sends them
            auth = {"Authorization": f"Bearer {srv.token('P1')}"}
            await ws.send(json.dumps({"type": "connection_init", "payload": auth}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(
                json.dumps(
                    {
                        "id": "img",
                        "type": "subscribe",
                        "payload": {
                            "query": IMAGE_STATUS,
                            "variables": {"id": image_id},
                        },
                    }
                )
            )
            first = json.loads(await ws.recv())
            assert first["payload"]["data"]["imageStatus"] == {"status": "QUEUED", "action": None}
            r = await c.post(
                f"/v2/images/{image_id}/import",
                headers=h,
                json={"method": {"name": "web-download", "uri": f"{base}/disk.raw"}},
            )
            assert r.status_code == 202
            task_id = (await c.get(f"/v2/images/{image_id}/tasks", headers=h)).json()["tasks"][0][
                "id"
            ]
            await ws.send(
                json.dumps(
                    {
                        "id": "task",
                        "type": "subscribe",
                        "payload": {
                            "query": TASK_PROGRESS,
                            "variables": {"id": task_id},
                        },
                    }
                )
            )
            statuses, progress, completed = [], [], set()
            async with asyncio.timeout(60):
                while completed != {"task"} or "ACTIVE" not in statuses:
                    msg = json.loads(await ws.recv())
                    if msg["type"] == "complete":
                        completed.add(msg["id"])
                    elif msg["id"] == "img":
                        statuses.append(msg["payload"]["data"]["imageStatus"]["status"])
                    else:
                        assert msg["type"] == "next", msg
                        progress.append(msg["payload"]["data"]["taskProgress"])
    assert statuses[0] == "IMPORTING"
    assert statuses[-1] == "ACTIVE"
    pcts = [p["progress"] for p in progress if p["status"] == "PROCESSING"]
    assert len(pcts) >= 3, progress  # each step seen live, not just the end
    assert pcts == sorted(pcts)
    assert progress[-1] == {"status": "SUCCESS", "progress": 100}


async def test_killed_worker_mid_copy_is_finished_by_another(procs: Any, pg_database: str) -> None:
    await _empty_pg(pg_database)
    data = os.urandom(40 * MiB)
    env = {
        **LOOPBACK,
        "GLIMPSE_DATABASE_URL": pg_database,
        "GLIMPSE_TASKS_RUN_IN_PROCESS": "false",
        "GLIMPSE_TASKS_LEASE_SECONDS": "2",
        "GLIMPSE_TASKS_IO_RATE_LIMIT": str(10 * MiB),
    }
    p = procs(env)
    srv = p.server()
    h = _h(srv)
    async with httpx.AsyncClient(base_url=srv.url, timeout=60) as c:
        src = await _image(c, h, data)
        first = p.worker("first")
        r = await c.post(f"/v2/images/{src}/actions", headers=h, json={"copy": None})
        assert r.status_code == 202, r.text
        task_id, new_id = r.json()["task_id"], r.json()["image_id"]
        deadline = time.monotonic() + 60
        while (task := await _task(c, h, task_id))["progress"] < 20:
            assert time.monotonic() < deadline, task
            await asyncio.sleep(0.1)
        assert task["status"] == "PROCESSING", task
        assert task["progress"] < 80, task
        os.kill(first.pid, signal.SIGKILL)  # mid-copy, no chance to hand the task back
        first.wait()
        p.worker("second")
        task = await _until_done(c, h, task_id)
        assert task["status"] == "SUCCESS", task
        assert task["attempts"] == 2
        new = (await c.get(f"/v2/images/{new_id}", headers=h)).json()
        assert (new["status"], new["checksum"], new["size"]) == ("active", md5(data), len(data))
        got = (await c.get(f"/v2/images/{new_id}/file", headers=h)).content
        assert md5(got) == md5(data)
    assert f"task {task_id} (copy) attempt 2 claimed by second" in p.log("second")


async def test_two_apis_two_workers_postgres_s3(
    procs: Any, pg_database: str, s3_endpoint: str, file_server: tuple[str, Path]
) -> None:
    await _empty_pg(pg_database)
    base, root = file_server
    stores = [
        {
            "name": "s3",
            "type": "s3",
            "endpoint_url": s3_endpoint,
            "bucket": "glimpse-multi",
            "create_bucket": True,
            "access_key": "test",
            "secret_key": "test",
            "addressing_style": "path",
        }
    ]
    env = {
        **LOOPBACK,
        "GLIMPSE_DATABASE_URL": pg_database,
        "GLIMPSE_STORES": json.dumps(stores),
        "GLIMPSE_DEFAULT_STORE": "s3",
        "GLIMPSE_TASKS_RUN_IN_PROCESS": "false",
        "GLIMPSE_TASKS_IO_RATE_LIMIT": str(8 * MiB),
    }
    p = procs(env)
    api1, api2 = p.server(), p.server()
    p.worker("w1")
    p.worker("w2")
    blobs = {n: os.urandom(2 * MiB + n) for n in range(4)}
    for n, blob in blobs.items():
        (root / f"{n}.raw").write_bytes(blob)
    h = _h(api1)
    async with (
        httpx.AsyncClient(base_url=api1.url, timeout=60) as c1,
        httpx.AsyncClient(base_url=api2.url, timeout=60) as c2,
    ):
        expected: dict[str, str] = {}
        for n, blob in blobs.items():  # web-download via one API, glance-direct via both
            image_id = await _image(c1, h, None)
            if n % 2:
                r = await c2.put(
                    f"/v2/images/{image_id}/stage",
                    content=blob,
                    headers={**h, "Content-Type": "application/octet-stream"},
                )
                assert r.status_code == 204, r.text
                body: dict[str, Any] = {"method": {"name": "glance-direct"}}
            else:
                body = {"method": {"name": "web-download", "uri": f"{base}/{n}.raw"}}
            r = await c1.post(f"/v2/images/{image_id}/import", headers=h, json=body)
            assert r.status_code == 202, r.text
            expected[image_id] = md5(blob)
        first = next(iter(expected))
        task_ids = []
        for _ in range(2):
            r = await c2.get(f"/v2/images/{first}", headers=h)
            while r.json()["status"] != "active":
                await asyncio.sleep(0.2)
                r = await c2.get(f"/v2/images/{first}", headers=h)
            r = await c2.post(f"/v2/images/{first}/actions", headers=h, json={"copy": None})
            assert r.status_code == 202, r.text
            task_ids.append(r.json()["task_id"])
            expected[r.json()["image_id"]] = expected[first]
        for image_id in expected:
            for t in (await c1.get(f"/v2/images/{image_id}/tasks", headers=h)).json()["tasks"]:
                task_ids.append(t["id"])
        for task_id in set(task_ids):
            assert (await _until_done(c2, h, task_id))["status"] == "SUCCESS"
        for image_id, checksum in expected.items():
            img = (await c2.get(f"/v2/images/{image_id}", headers=h)).json()
            assert (img["status"], img["checksum"]) == ("active", checksum)
            data = (await c1.get(f"/v2/images/{image_id}/file", headers=h)).content
            assert md5(data) == checksum
    logs = p.log("w1") + p.log("w2")
    ran = {t for t in set(task_ids) if f"task {t}" in logs}
    assert ran == set(task_ids)  # every task ran in a worker, none in the API processes
    for t in set(task_ids):  # and once: no two workers claimed the same attempt
        claims = re.findall(rf"task {t} \(\w+\) attempt (\d+) claimed", logs)
        assert len(claims) == len(set(claims)) >= 1, (t, claims)
