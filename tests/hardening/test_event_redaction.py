"""Finding 9: image events and task messages never carry secrets or server details.

Events are readable by everyone who may see the image; task messages by the owner's
project. A web-download URI keeps only scheme://host/path there, and a failure keeps a
reason a user can act on, while its details (qemu-img's stderr naming server paths) go
to the server log with the request id.
"""

from __future__ import annotations

import logging
import os
import struct
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from tests.hardening.conftest import gql_data
from tests.tasks.conftest import admin, create_image, headers, upload, wait_task

EVENTS = "query($id: ID!) { image(id: $id) { events { action changes requestId } } }"


async def _events(http: httpx.AsyncClient, h: dict[str, str], image_id: str) -> list[Any]:
    body = await gql_data(http, h, EVENTS, id=image_id)
    assert "errors" not in body, body
    events: list[Any] = body["data"]["image"]["events"]
    return events


async def _tasks(http: httpx.AsyncClient, h: dict[str, str], image_id: str) -> list[Any]:
    r = await http.get(f"/v2/images/{image_id}/tasks", headers=h)
    assert r.status_code == 200, r.text
    tasks: list[Any] = r.json()["tasks"]
    return tasks


async def test_web_download_uri_is_redacted_in_events(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Path]
) -> None:
    base, root = file_server
    (root / "disk.raw").write_bytes(os.urandom(4096))
    h, reader = headers(settings), headers(settings, "P2", "reader")
    img = await create_image(http, admin(settings), visibility="public", owner="P1")
    secret = base.replace("http://", "http://alice:hunter2@")
    uri = f"{secret}/disk.raw?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIAEXAMPLE"
    body = {"method": {"name": "web-download", "uri": uri}}
    r = await http.post(f"/v2/images/{img['id']}/import", json=body, headers=h)
    assert r.status_code == 202, r.text
    await wait_task(http, settings, (await _tasks(http, h, img["id"]))[0]["id"])
    for who in (h, reader):  # the owner, and anyone who can see the public image
        started = [
            e for e in await _events(http, who, img["id"]) if e["action"] == "import_started"
        ]
        assert started[0]["changes"]["uri"] == f"{base}/disk.raw"
        text = str(await _events(http, who, img["id"]))
        for leaked in ("hunter2", "alice", "deadbeef", "AKIAEXAMPLE"):
            assert leaked not in text


async def test_failed_download_message_has_no_credentials(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Path]
) -> None:
    base, _root = file_server
    h = headers(settings)
    img = await create_image(http, h)
    uri = base.replace("http://", "http://bob:pa55word@") + "/missing.raw?sig=topsecret"
    r = await http.post(
        f"/v2/images/{img['id']}/import",
        json={"method": {"name": "web-download", "uri": uri}},
        headers=h,
    )
    assert r.status_code == 202
    task = await wait_task(http, settings, (await _tasks(http, h, img["id"]))[0]["id"])
    assert task["status"] == "failure"
    assert f"{base}/missing.raw failed: HTTP 404" in task["message"]
    events = await _events(http, h, img["id"])
    for text in (task["message"], str(events)):
        assert "pa55word" not in text
        assert "topsecret" not in text


def _malformed_qcow2(qemu_img: str, root: Path) -> bytes:
    """A qcow2 made by qemu-img whose L1 table size field is absurd: format inspection
    finds nothing unsafe, but qemu-img refuses to open it, naming the file's path."""
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [qemu_img, "create", "-q", "-f", "qcow2", "a.qcow2", "16M"], check=True, cwd=root
    )
    data = bytearray((root / "a.qcow2").read_bytes())
    data[36:40] = struct.pack(">I", 1 << 28)
    return bytes(data)


async def test_qemu_failure_details_stay_in_the_server_log(
    http: httpx.AsyncClient,
    settings: Settings,
    qemu_img: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = headers(settings)
    img = await create_image(http, h, disk_format="qcow2")
    await upload(http, h, img["id"], _malformed_qcow2(qemu_img, tmp_path / "made"))
    caplog.set_level(logging.WARNING, logger="glimpse.failures")
    r = await http.post(f"/v2/images/{img['id']}/actions", json={"resize": 32 << 20}, headers=h)
    assert r.status_code == 202, r.text
    rid = r.headers["x-openstack-request-id"]
    task = await wait_task(http, settings, r.json()["task_id"])
    assert task["status"] == "failure"
    assert task["message"].startswith("qemu-img resize failed (exit status 1)")
    failed = [e for e in await _events(http, h, img["id"]) if e["action"] == "resize_failed"]
    data_dir = str(settings.data_dir.resolve())
    gql_task = await gql_data(
        http, h, "query($id: ID!) { task(id: $id) { message } }", id=r.json()["task_id"]
    )
    for shown in (task["message"], str(failed), str(gql_task)):
        assert data_dir not in shown
        assert "L1 table" not in shown
    logged = [rec.getMessage() for rec in caplog.records if rid in rec.getMessage()]
    assert any("Active L1 table too large" in m and data_dir in m for m in logged), logged
