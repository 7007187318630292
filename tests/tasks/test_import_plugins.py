"""Import plugins: bounded decompression of gzip and zip sources, conversion with qemu-img,
metadata injection."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from tests.policy.helpers import client_for
from tests.tasks.conftest import admin, create_image, headers, image_tasks, md5, wait_task

PAYLOAD = os.urandom(200_000) + b"\0" * 300_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    imports = replace(
        settings.imports,
        plugins=("decompress", "convert", "inject_metadata"),
        decompress_max_ratio=50,
        inject_properties={"hw_qemu_guest_agent": "yes", "injected_by": "operator"},
    )
    return replace(settings, imports=imports)


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


async def _web_import(
    http: httpx.AsyncClient,
    settings: Settings,
    file_server: tuple[str, Path],
    data: bytes,
    h: dict[str, str] | None = None,
    **image: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    base, root = file_server
    name = f"src-{md5(data)[:8]}"
    (root / name).write_bytes(data)
    h = h or headers(settings)
    created = await create_image(http, h, name="plugin", **image)
    r = await http.post(
        f"/v2/images/{created['id']}/import",
        json={"method": {"name": "web-download", "uri": f"{base}/{name}"}},
        headers=h,
    )
    assert r.status_code == 202, r.text
    task_id = (await image_tasks(http, h, created["id"]))[0]["id"]
    task = await wait_task(http, settings, task_id)
    shown = (await http.get(f"/v2/images/{created['id']}", headers=h)).json()
    return task, shown


@pytest.mark.parametrize(
    "packed",
    [
        gzip.compress(PAYLOAD),
        gzip.compress(PAYLOAD[:1000]) + gzip.compress(PAYLOAD[1000:]),  # two gzip members
        _zip({"disk.raw": PAYLOAD}),
    ],
    ids=["gzip", "gzip-multi-member", "zip"],
)
async def test_compressed_sources_are_imported_decompressed(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Path], packed: bytes
) -> None:
    task, image = await _web_import(http, settings, file_server, packed)
    assert task["status"] == "success", task
    assert (image["status"], image["size"], image["checksum"]) == (
        "active",
        len(PAYLOAD),
        md5(PAYLOAD),
    )


async def test_declared_compressed_container_is_left_alone(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Path]
) -> None:
    packed = gzip.compress(PAYLOAD)
    task, image = await _web_import(
        http, settings, file_server, packed, container_format="compressed"
    )
    assert task["status"] == "success", task
    assert (image["size"], image["checksum"]) == (len(packed), md5(packed))


@pytest.mark.parametrize(
    ("packed", "fragment"),
    [
        (gzip.compress(b"\0" * (64 * 1024 * 1024)), "decompression bomb"),
        (_zip({"a": PAYLOAD, "b": PAYLOAD}), "exactly one image"),
        (gzip.compress(PAYLOAD)[:-5000], "corrupt"),
        (b"PK\x03\x04 not really a zip", "cannot be read"),
    ],
    ids=["bomb", "zip-two-files", "truncated-gzip", "bad-zip"],
)
async def test_bad_archives_are_refused_and_the_image_stays_queued(
    http: httpx.AsyncClient,
    settings: Settings,
    file_server: tuple[str, Path],
    packed: bytes,
    fragment: str,
) -> None:
    task, image = await _web_import(http, settings, file_server, packed)
    assert task["status"] == "failure"
    assert fragment in task["message"], task["message"]
    assert (image["status"], image["checksum"], image["size"]) == ("queued", None, None)


async def test_decompressed_size_is_capped(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Path]
) -> None:
    small = replace(settings, max_image_size=len(PAYLOAD) - 1)

    async with client_for(small) as client:
        task, image = await _web_import(client, small, file_server, gzip.compress(PAYLOAD))
    assert task["status"] == "failure"
    assert "larger than" in task["message"]
    assert image["status"] == "queued"


async def test_metadata_is_injected_for_non_admin_imports(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Path]
) -> None:
    _task, member_image = await _web_import(http, settings, file_server, PAYLOAD)
    assert member_image["hw_qemu_guest_agent"] == "yes"
    assert member_image["injected_by"] == "operator"
    _task, admin_image = await _web_import(http, settings, file_server, PAYLOAD, admin(settings))
    assert "injected_by" not in admin_image


def _qcow2(qemu_img: str, tmp: Path, data: bytes, *, backing: Path | None = None) -> bytes:
    raw, out = tmp / "in.raw", tmp / "out.qcow2"
    raw.write_bytes(data)
    if backing is None:
        subprocess.run([qemu_img, "convert", "-f", "raw", "-O", "qcow2", raw, out], check=True)
    else:
        args = ["-b", str(backing), "-F", "raw"]
        subprocess.run([qemu_img, "create", "-q", "-f", "qcow2", *args, out], check=True)
    return out.read_bytes()


async def test_qcow2_is_converted_to_raw_in_every_store(
    http: httpx.AsyncClient,
    settings: Settings,
    file_server: tuple[str, Path],
    qemu_img: str,
    tmp_path: Path,
) -> None:
    packed = _qcow2(qemu_img, tmp_path, PAYLOAD)
    base, root = file_server
    (root / "disk.qcow2").write_bytes(packed)
    h = headers(settings)
    created = await create_image(http, h, name="conv", disk_format="qcow2")
    body = {"method": {"name": "web-download", "uri": f"{base}/disk.qcow2"}, "all_stores": True}
    r = await http.post(f"/v2/images/{created['id']}/import", json=body, headers=h)
    assert r.status_code == 202, r.text
    task = await wait_task(http, settings, (await image_tasks(http, h, created["id"]))[0]["id"])
    assert task["status"] == "success", task
    image = (await http.get(f"/v2/images/{created['id']}", headers=h)).json()
    padded = PAYLOAD + b"\0" * (-len(PAYLOAD) % 512)  # qemu-img rounds to whole sectors
    assert (image["disk_format"], image["size"], image["checksum"]) == (
        "raw",
        len(padded),
        md5(padded),
    )
    assert sorted(image["stores"].split(",")) == ["local", "second"]


async def test_conversion_refuses_a_backing_file(
    http: httpx.AsyncClient,
    settings: Settings,
    file_server: tuple[str, Path],
    qemu_img: str,
    tmp_path: Path,
) -> None:
    secret = tmp_path / "host-secret.raw"
    secret.write_bytes(b"host data " * 1000)
    packed = _qcow2(qemu_img, tmp_path, b"", backing=secret)
    task, image = await _web_import(http, settings, file_server, packed, disk_format="qcow2")
    assert task["status"] == "failure"
    assert "failed safety checks: backing_file" in task["message"]
    assert (image["status"], image["disk_format"]) == ("queued", "qcow2")
