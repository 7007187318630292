"""Finding 10: every upload, stage and import is inspected, whatever was declared.

Images are made by qemu-img. Refused data answers 415 (REST) or fails the import task
(REST and GraphQL), and leaves the image ``queued`` without data.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from tests.hardening.conftest import gql_data
from tests.stores.test_inspect import iso_gpt_hybrid
from tests.tasks.conftest import create_image, headers, wait_task

OCTET = {"Content-Type": "application/octet-stream"}


class Made:
    """Images built once per test by qemu-img under ``root``."""

    def __init__(self, qemu_img: str, root: Path) -> None:
        self.qemu_img, self.root = qemu_img, root
        self.root.mkdir(parents=True, exist_ok=True)

    def create(self, name: str, fmt: str, *options: str) -> bytes:
        path = self.root / name
        if not path.exists():
            subprocess.run(
                [self.qemu_img, "create", "-q", "-f", fmt, *options, name, "16M"],
                check=True,
                cwd=self.root,
                capture_output=True,
            )
        return path.read_bytes()

    def backed(self) -> bytes:
        self.create("base.raw", "raw")
        return self.create("backed.qcow2", "qcow2", "-b", "base.raw", "-F", "raw")

    def data_file(self) -> bytes:
        return self.create("ext.qcow2", "qcow2", "-o", "data_file=ext.raw,data_file_raw=on")

    def flat_vmdk(self) -> bytes:
        return self.create("flat.vmdk", "vmdk", "-o", "subformat=monolithicFlat")


@pytest.fixture
def made(qemu_img: str, tmp_path: Path) -> Made:
    return Made(qemu_img, tmp_path / "made")


async def _put(
    http: httpx.AsyncClient, h: dict[str, str], image_id: str, data: bytes, what: str = "file"
) -> httpx.Response:
    return await http.put(f"/v2/images/{image_id}/{what}", content=data, headers={**h, **OCTET})


async def _shown(http: httpx.AsyncClient, h: dict[str, str], image_id: str) -> dict[str, Any]:
    r = await http.get(f"/v2/images/{image_id}", headers=h)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _blobs(settings: Settings) -> list[Path]:
    return [p for s in settings.stores for p in Path(s.options["path"]).rglob("*") if p.is_file()]


UNSAFE = [
    ("backed", "raw", "bare", "backing_file"),
    ("backed", "qcow2", "bare", "backing_file"),
    ("backed", "qcow2", "ovf", "backing_file"),
    ("backed", "raw", "ova", "backing_file"),
    ("backed", "vmdk", "docker", "backing_file"),
    ("data_file", "qcow2", "bare", "data_file"),
    ("data_file", "raw", "ovf", "data_file"),
    ("flat_vmdk", "vmdk", "bare", "descriptor"),
    ("flat_vmdk", "raw", "ova", "descriptor"),
]


@pytest.mark.parametrize(("build", "disk", "container", "reason"), UNSAFE)
async def test_upload_with_external_references_is_refused_whatever_declared(
    http: httpx.AsyncClient,
    settings: Settings,
    made: Made,
    build: str,
    disk: str,
    container: str,
    reason: str,
) -> None:
    h = headers(settings)
    img = await create_image(http, h, disk_format=disk, container_format=container)
    r = await _put(http, h, img["id"], getattr(made, build)())
    assert r.status_code == 415, r.text
    assert reason in r.text
    shown = await _shown(http, h, img["id"])
    assert (shown["status"], shown["size"], shown["checksum"]) == ("queued", None, None)
    assert _blobs(settings) == []


async def test_declared_format_contradicted_by_content(
    http: httpx.AsyncClient, settings: Settings, made: Made
) -> None:
    h = headers(settings)
    qcow2 = made.create("safe.qcow2", "qcow2")
    liar = await create_image(http, h, disk_format="raw")
    r = await _put(http, h, liar["id"], qcow2)
    assert r.status_code == 415
    assert "image data is qcow2, which does not match disk_format raw" in r.text
    vdi = await create_image(http, h, disk_format="vdi")
    assert (await _put(http, h, vdi["id"], qcow2)).status_code == 415
    ami = await create_image(http, h, disk_format="ami", container_format="ami")
    assert (await _put(http, h, ami["id"], qcow2)).status_code == 415
    # what stays allowed: the real format, a safe disk inside another container, and raw
    # layouts (ISO, partitioned disk) declared raw - as Glance allows them
    for disk, container in (("qcow2", "bare"), ("qcow2", "ovf"), ("raw", "ova")):
        ok = await create_image(http, h, disk_format=disk, container_format=container)
        assert (await _put(http, h, ok["id"], qcow2)).status_code == 204, (disk, container)
    iso = iso_gpt_hybrid(_Root(made.root))
    for disk in ("raw", "iso"):
        ok = await create_image(http, h, disk_format=disk)
        assert (await _put(http, h, ok["id"], iso.read_bytes())).status_code == 204, disk
        assert (await _shown(http, h, ok["id"]))["virtual_size"] == iso.stat().st_size


class _Root:
    """What tests.stores.test_inspect's builders need: a ``root`` directory."""

    def __init__(self, root: Path) -> None:
        self.root = root


async def test_staging_is_inspected(
    http: httpx.AsyncClient, settings: Settings, made: Made
) -> None:
    h = headers(settings)
    img = await create_image(http, h, disk_format="raw", container_format="ova")
    r = await _put(http, h, img["id"], made.backed(), "stage")
    assert r.status_code == 415
    assert "backing_file" in r.text
    assert (await _shown(http, h, img["id"]))["status"] == "queued"
    assert _blobs(settings) == []
    unformatted = (await http.post("/v2/images", json={"name": "n"}, headers=h)).json()
    assert (await _put(http, h, unformatted["id"], made.backed(), "stage")).status_code == 415


async def test_web_download_of_unsafe_data_fails_rest(
    http: httpx.AsyncClient, settings: Settings, made: Made, file_server: tuple[str, Path]
) -> None:
    base, root = file_server
    (root / "backed.img").write_bytes(made.backed())
    h = headers(settings)
    img = await create_image(http, h, disk_format="raw", container_format="ova")
    body = {"method": {"name": "web-download", "uri": f"{base}/backed.img"}}
    r = await http.post(f"/v2/images/{img['id']}/import", json=body, headers=h)
    assert r.status_code == 202, r.text
    tasks = (await http.get(f"/v2/images/{img['id']}/tasks", headers=h)).json()["tasks"]
    task = await wait_task(http, settings, tasks[0]["id"])
    assert task["status"] == "failure"
    assert "backing_file" in task["message"]
    shown = await _shown(http, h, img["id"])
    assert (shown["status"], shown["checksum"]) == ("queued", None)
    assert _blobs(settings) == []


IMPORT = """mutation($id: ID!, $input: ImportImageInput!) {
  importImage(id: $id, input: $input) { id } }"""
TASK = "query($id: ID!) { task(id: $id) { status message image { status } } }"


async def test_web_download_of_unsafe_data_fails_graphql(
    http: httpx.AsyncClient, settings: Settings, made: Made, file_server: tuple[str, Path]
) -> None:
    base, root = file_server
    (root / "liar.img").write_bytes(made.create("safe.qcow2", "qcow2"))
    h = headers(settings)
    img = await create_image(http, h, disk_format="raw")
    body = await gql_data(
        http, h, IMPORT, id=img["id"], input={"method": "WEB_DOWNLOAD", "uri": f"{base}/liar.img"}
    )
    task_id = body["data"]["importImage"]["id"]
    await wait_task(http, settings, task_id)
    task = (await gql_data(http, h, TASK, id=task_id))["data"]["task"]
    assert task["status"] == "FAILURE"
    assert "does not match disk_format raw" in task["message"]
    assert task["image"]["status"] == "QUEUED"
