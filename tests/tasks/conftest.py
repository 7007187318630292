"""Fixtures for task tests: fast polling runners, a second store, a loopback file server
allowed by the web-download filter (explicitly: loopback is denied by default)."""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from glimpse.core.config import ImportSettings, Settings, StoreConfig, TaskSettings
from tests.conftest import make_settings, token

FAST_TASKS = TaskSettings(poll_seconds=0.05, lease_seconds=5, concurrency=2)
LOOPBACK_IMPORTS = ImportSettings(
    allowed_ports=(), allow_private_addresses=True, disallowed_hosts=("denied.invalid",)
)


def two_stores(root: Path) -> tuple[StoreConfig, ...]:
    return (
        StoreConfig(name="local", type="filesystem", options={"path": str(root / "local")}),
        StoreConfig(name="second", type="filesystem", options={"path": str(root / "second")}),
        StoreConfig(
            name="archive",
            type="filesystem",
            read_only=True,
            options={"path": str(root / "archive")},
        ),
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path / "data",
        database_url,
        stores=two_stores(tmp_path / "stores"),
        tasks=FAST_TASKS,
        imports=LOOPBACK_IMPORTS,
    )


class _Files(http.server.SimpleHTTPRequestHandler):
    """Static files plus ``/redirect?to=URL`` (302) for the redirect filter tests."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL on 127.0.0.1, directory it serves)."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Files, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def headers(settings: Settings, project: str = "P1", *roles: str) -> dict[str, str]:
    return {"X-Auth-Token": token(settings, project, *(roles or ("member", "reader")))}


def admin(settings: Settings) -> dict[str, str]:
    return headers(settings, "admin", "admin", "member", "reader")


async def create_image(http: httpx.AsyncClient, h: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    r = await http.post("/v2/images", json=body, headers=h)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def upload(http: httpx.AsyncClient, h: dict[str, str], image_id: str, data: bytes) -> None:
    r = await http.put(
        f"/v2/images/{image_id}/file",
        content=data,
        headers={**h, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 204, r.text


async def wait_task(
    http: httpx.AsyncClient, settings: Settings, task_id: str, seconds: float = 30
) -> dict[str, Any]:
    """Poll the Glance task API (admin) until the task finished."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = await http.get(f"/v2/tasks/{task_id}", headers=admin(settings))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] in ("success", "failure"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish in {seconds} s")


async def image_tasks(http: httpx.AsyncClient, h: dict[str, str], image_id: str) -> list[Any]:
    r = await http.get(f"/v2/images/{image_id}/tasks", headers=h)
    assert r.status_code == 200, r.text
    tasks: list[Any] = r.json()["tasks"]
    return tasks


async def gql(
    http: httpx.AsyncClient, h: dict[str, str], query: str, **variables: Any
) -> dict[str, Any]:
    r = await http.post("/graphql", json={"query": query, "variables": variables}, headers=h)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


__all__ = ["replace"]
