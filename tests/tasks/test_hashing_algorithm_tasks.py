"""``hashing_algorithm = sha256`` in the background paths: staging + glance-direct import,
the copy action and resize all record sha256 values that match the data."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from tests.tasks.conftest import create_image, headers, upload, wait_task

MiB = 1024 * 1024
DATA = os.urandom(MiB + 512)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, hashing_algorithm="sha256")


async def _shown(http: httpx.AsyncClient, h: dict[str, str], image_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await http.get(f"/v2/images/{image_id}", headers=h)).json()
    return body


def _sha256(data: bytes) -> tuple[str, str]:
    return "sha256", hashlib.sha256(data).hexdigest()


async def test_glance_direct_import_records_sha256(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    h = headers(settings)
    img = await create_image(http, h, name="staged")
    r = await http.put(
        f"/v2/images/{img['id']}/stage",
        content=DATA,
        headers={**h, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 204, r.text
    r = await http.post(
        f"/v2/images/{img['id']}/import", json={"method": {"name": "glance-direct"}}, headers=h
    )
    assert r.status_code == 202, r.text
    tasks = (await http.get(f"/v2/images/{img['id']}/tasks", headers=h)).json()["tasks"]
    assert (await wait_task(http, settings, tasks[0]["id"]))["status"] == "success"
    shown = await _shown(http, h, img["id"])
    assert (shown["os_hash_algo"], shown["os_hash_value"]) == _sha256(DATA)
    assert (await http.get(f"/v2/images/{img['id']}/file", headers=h)).content == DATA


async def test_copy_action_keeps_sha256(http: httpx.AsyncClient, settings: Settings) -> None:
    h = headers(settings)
    img = await create_image(http, h, name="src")
    await upload(http, h, img["id"], DATA)
    r = await http.post(f"/v2/images/{img['id']}/actions", json={"copy": "second"}, headers=h)
    assert r.status_code == 202, r.text
    assert (await wait_task(http, settings, r.json()["task_id"]))["status"] == "success"
    new = await _shown(http, h, r.json()["image_id"])
    assert (new["os_hash_algo"], new["os_hash_value"]) == _sha256(DATA)


async def test_resize_records_sha256_of_the_new_data(
    http: httpx.AsyncClient, settings: Settings, qemu_img: str, tmp_path: Path
) -> None:
    h = headers(settings)
    img = await create_image(http, h, name="grow")
    await upload(http, h, img["id"], DATA)
    r = await http.post(f"/v2/images/{img['id']}/actions", json={"resize": 4 * MiB}, headers=h)
    assert r.status_code == 202, r.text
    assert (await wait_task(http, settings, r.json()["task_id"]))["status"] == "success"
    grown = (await http.get(f"/v2/images/{img['id']}/file", headers=h)).content
    assert len(grown) == 4 * MiB
    assert grown[: len(DATA)] == DATA
    shown = await _shown(http, h, img["id"])
    assert (shown["os_hash_algo"], shown["os_hash_value"]) == _sha256(grown)
