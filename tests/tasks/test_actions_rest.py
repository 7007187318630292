"""The product's actions through REST: pause/unpause, copy (all target forms), resize with
a real qemu-img (raw and qcow2, checked with ``qemu-img info``)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette

from glimpse.core.config import Settings
from tests.tasks.conftest import create_image, headers, md5, upload, wait_task

MiB = 1024 * 1024


async def _act(
    http: httpx.AsyncClient, h: dict[str, str], image_id: str, body: Any, path: str = "actions"
) -> httpx.Response:
    return await http.post(f"/v2/images/{image_id}/{path}", json=body, headers=h)


async def _active(
    http: httpx.AsyncClient, h: dict[str, str], data: bytes, **kw: Any
) -> dict[str, Any]:
    img = await create_image(http, h, **kw)
    await upload(http, h, img["id"], data)
    return img


async def test_pause_unpause(http: httpx.AsyncClient, settings: Settings) -> None:
    h = headers(settings)
    img = await _active(http, h, b"data" * 100, name="p")
    r = await _act(http, h, img["id"], {"pause": None})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "deactivated"
    assert r.json()["id"] == img["id"]
    assert (await http.get(f"/v2/images/{img['id']}/file", headers=h)).status_code == 403
    r = await _act(http, h, img["id"], {"unpause": None}, path="action")
    assert (r.status_code, r.json()["status"]) == (200, "active")
    r = await http.post(f"/v2/images/{img['id']}/action/deactivate", headers=h)
    assert r.status_code == 204
    r = await http.post(f"/v2/images/{img['id']}/actions/reactivate", headers=h)
    assert r.status_code == 204
    for bad in ({}, {"pause": None, "unpause": None}, {"explode": None}, {"pause": 1}):
        assert (await _act(http, h, img["id"], bad)).status_code == 400, bad
    other = headers(settings, "P2")
    assert (await _act(http, other, img["id"], {"pause": None})).status_code == 404


async def _copy(
    http: httpx.AsyncClient, settings: Settings, h: dict[str, str], image_id: str, target: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    r = await _act(http, h, image_id, {"copy": target})
    assert r.status_code == 202, r.text
    body = r.json()
    assert set(body) == {"task_id", "image_id"}
    task = await wait_task(http, settings, body["task_id"])
    assert task["status"] == "success", task
    new = (await http.get(f"/v2/images/{body['image_id']}", headers=h)).json()
    return task, new


async def test_copy_targets(http: httpx.AsyncClient, settings: Settings) -> None:
    h = headers(settings)
    data = os.urandom(2 * MiB + 3)
    img = await _active(http, h, data, name="src", tags=["a", "b"], os_distro="debian")
    second = Path(settings.stores[1].options["path"])
    task, new = await _copy(http, settings, h, img["id"], None)
    assert new["id"] != img["id"]
    assert (new["name"], new["status"], new["tags"], new["os_distro"]) == (
        "src (copy)",
        "active",
        ["a", "b"],
        "debian",
    )
    assert (new["checksum"], new["os_hash_value"], new["size"]) == (
        md5(data),
        img_hash(data),
        len(data),
    )
    assert new["stores"] == "local"
    assert task["result"]["checksum"] == md5(data)
    assert (await http.get(f"/v2/images/{new['id']}/file", headers=h)).content == data
    _, new = await _copy(http, settings, h, img["id"], "second")
    assert new["stores"] == "second"
    _, new = await _copy(http, settings, h, img["id"], {"target": "second", "name": "mine"})
    assert new["name"] == "mine"
    url = (second / "copies" / "exact.img").resolve().as_uri()
    _, new = await _copy(http, settings, h, img["id"], url)
    assert (second / "copies" / "exact.img").read_bytes() == data
    r = await _act(http, h, img["id"], {"copy": url})
    assert r.status_code == 409  # never overwrite what is there
    tasks = (await http.get(f"/v2/images/{new['id']}/tasks", headers=h)).json()["tasks"]
    assert [t["type"] for t in tasks] == ["copy"]


async def test_concurrent_copies_to_one_location_never_share_a_blob(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    """Finding 11: two concurrent copies to the same chosen location both passed the
    "nothing there yet" check, wrote one blob, and deleting either image broke the other."""
    h = headers(settings)
    first = await _active(http, h, os.urandom(MiB), name="first")
    second = await _active(http, h, os.urandom(MiB), name="second")
    target = (Path(settings.stores[1].options["path"]) / "race" / "same.img").resolve()
    url = target.as_uri()
    answers = await asyncio.gather(
        *[_act(http, h, src["id"], {"copy": url}) for src in (first, second, first, second)]
    )
    accepted = [r for r in answers if r.status_code == 202]
    assert len(accepted) == 1, [r.status_code for r in answers]
    assert sorted(r.status_code for r in answers) == [202, 409, 409, 409]
    task = await wait_task(http, settings, accepted[0].json()["task_id"])
    assert task["status"] == "success", task
    copy_id = accepted[0].json()["image_id"]
    copy = (await http.get(f"/v2/images/{copy_id}", headers=h)).json()
    assert (await http.get(f"/v2/images/{copy_id}/file", headers=h)).content == target.read_bytes()
    assert copy["checksum"] == md5(target.read_bytes())
    later = await _act(http, h, second["id"], {"copy": url})
    assert later.status_code == 409  # and never over what is there now


async def test_copy_refuses_anything_but_a_store(
    http: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    h = headers(settings)
    img = await _active(http, h, b"x" * 1000)
    for target in (
        "/etc/passwd",
        "http://evil.example/x",
        (tmp_path / "x").as_uri(),
        "s3://bucket/key",
        "nostore",
        42,
        True,
        ["second"],
        {"target": "second", "path": "/tmp"},
        {"target": "second", "name": 5},
    ):
        r = await _act(http, h, img["id"], {"copy": target})
        assert r.status_code == 400, (target, r.text)
    queued = await create_image(http, h)
    assert (await _act(http, h, queued["id"], {"copy": None})).status_code == 409


def img_hash(data: bytes) -> str:
    import hashlib

    return hashlib.sha512(data).hexdigest()


async def _qemu_create(qemu_img: str, path: Path) -> None:
    await anyio.run_process([qemu_img, "create", "-q", "-f", "qcow2", str(path), "16M"])


def _info(qemu_img: str, path: Path, fmt: str) -> dict[str, Any]:
    out = subprocess.run(
        [qemu_img, "info", "-f", fmt, "--output=json", str(path)], check=True, capture_output=True
    ).stdout
    info: dict[str, Any] = json.loads(out)
    return info


async def _resize(
    http: httpx.AsyncClient, settings: Settings, h: dict[str, str], image_id: str, arg: Any
) -> dict[str, Any]:
    r = await _act(http, h, image_id, {"resize": arg})
    assert r.status_code == 202, r.text
    assert set(r.json()) == {"task_id"}
    return await wait_task(http, settings, r.json()["task_id"])


async def _fetch(
    http: httpx.AsyncClient, h: dict[str, str], image_id: str, path: Path
) -> dict[str, Any]:
    content = (await http.get(f"/v2/images/{image_id}/file", headers=h)).content
    await anyio.Path(path).write_bytes(content)
    shown: dict[str, Any] = (await http.get(f"/v2/images/{image_id}", headers=h)).json()
    return shown


async def test_resize_raw(
    http: httpx.AsyncClient, settings: Settings, qemu_img: str, tmp_path: Path
) -> None:
    h = headers(settings)
    data = os.urandom(MiB)
    img = await _active(http, h, data)
    task = await _resize(http, settings, h, img["id"], 4 * MiB)
    assert task["status"] == "success", task
    shown = await _fetch(http, h, img["id"], tmp_path / "r.raw")
    assert _info(qemu_img, tmp_path / "r.raw", "raw")["virtual-size"] == 4 * MiB
    assert (shown["size"], shown["virtual_size"]) == (4 * MiB, 4 * MiB)
    on_disk = (tmp_path / "r.raw").read_bytes()
    assert on_disk[:MiB] == data
    assert shown["checksum"] == md5(on_disk)
    assert task["result"]["virtual_size"] == 4 * MiB
    # shrinking needs the explicit flag
    r = await _act(http, h, img["id"], {"resize": MiB // 2})
    assert r.status_code == 400
    assert "shrink" in r.text
    task = await _resize(http, settings, h, img["id"], {"size": MiB // 2, "shrink": True})
    assert task["status"] == "success", task
    shown = await _fetch(http, h, img["id"], tmp_path / "s.raw")
    assert shown["size"] == MiB // 2
    assert (tmp_path / "s.raw").read_bytes() == data[: MiB // 2]
    for bad in (0, -512, 1000, "big", True, {"size": 1024, "shrink": "yes"}, {"shrink": True}):
        assert (await _act(http, h, img["id"], {"resize": bad})).status_code == 400, bad


async def test_resize_qcow2(
    http: httpx.AsyncClient, settings: Settings, qemu_img: str, tmp_path: Path
) -> None:
    src = tmp_path / "a.qcow2"
    await _qemu_create(qemu_img, src)
    h = headers(settings)
    img = await _active(http, h, src.read_bytes(), disk_format="qcow2")
    assert img["id"]
    task = await _resize(http, settings, h, img["id"], 64 * MiB)
    assert task["status"] == "success", task
    shown = await _fetch(http, h, img["id"], tmp_path / "b.qcow2")
    info = _info(qemu_img, tmp_path / "b.qcow2", "qcow2")
    assert (info["format"], info["virtual-size"]) == ("qcow2", 64 * MiB)
    assert shown["virtual_size"] == 64 * MiB
    assert shown["size"] == (tmp_path / "b.qcow2").stat().st_size
    assert shown["checksum"] == md5((tmp_path / "b.qcow2").read_bytes())


async def test_resize_failure_keeps_original_and_missing_qemu_is_clear(
    http: httpx.AsyncClient, settings: Settings, app: Starlette, qemu_img: str, tmp_path: Path
) -> None:
    # A "raw" image whose bytes are a qcow2 header is refused on upload; one stored before
    # that rule existed still never reaches qemu-img.
    src = tmp_path / "liar.qcow2"
    await _qemu_create(qemu_img, src)
    h = headers(settings)
    data = src.read_bytes()
    refused = await create_image(http, h, disk_format="raw")
    r = await http.put(
        f"/v2/images/{refused['id']}/file",
        content=data,
        headers={**h, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 415
    img = await create_image(http, h, disk_format="raw")
    await _plant_legacy(app, img["id"], data)
    task = await _resize(http, settings, h, img["id"], 32 * MiB)
    assert task["status"] == "failure"
    assert "refusing to resize" in task["message"]
    shown = (await http.get(f"/v2/images/{img['id']}", headers=h)).json()
    assert (shown["status"], shown["checksum"], shown["size"]) == ("active", md5(data), len(data))
    assert "os_glance_import_task" not in shown
    assert (await http.get(f"/v2/images/{img['id']}/file", headers=h)).content == data
    # qemu-img killed by its memory limit: failure, original intact
    deps = app.state.deps
    deps.settings = replace(
        deps.settings, tasks=replace(deps.settings.tasks, qemu_memory_bytes=1024 * 1024)
    )
    good = await _active(http, h, os.urandom(MiB))
    task = await _resize(http, settings, h, good["id"], 2 * MiB)
    assert task["status"] == "failure"
    assert "qemu-img resize failed" in task["message"]
    shown = (await http.get(f"/v2/images/{good['id']}", headers=h)).json()
    assert shown["size"] == MiB
    deps.settings = replace(
        deps.settings, tasks=replace(deps.settings.tasks, qemu_img="qemu-img-not-here")
    )
    r = await _act(http, h, good["id"], {"resize": 2 * MiB})
    assert r.status_code == 503
    assert "qemu-img" in r.text
    assert "not installed" in r.text


async def test_copy_of_corrupted_data_fails_and_is_logged(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    """Bytes that no longer hash to the recorded checksum are never copied: the task fails
    at once (no retry), no copy becomes active, and the mismatch is in the image's log."""
    h = headers(settings)
    data = os.urandom(MiB)
    img = await _active(http, h, data, name="rotten")
    _corrupt(Path(settings.stores[0].options["path"]), b"X" + data[1:])
    r = await _act(http, h, img["id"], {"copy": None})
    assert r.status_code == 202, r.text
    task = await wait_task(http, settings, r.json()["task_id"])
    assert task["status"] == "failure"
    assert "checksum" in task["message"]
    assert task["message"]
    copy = (await http.get(f"/v2/images/{r.json()['image_id']}", headers=h)).json()
    assert copy["status"] != "active"
    q = {"query": f'{{ image(id: "{img["id"]}") {{ events {{ action changes }} }} }}'}
    events = (await http.post("/graphql", json=q, headers=h)).json()["data"]["image"]["events"]
    bad = [e for e in events if e["action"] == "integrity_error"]
    assert bad
    assert bad[0]["changes"]["field"] == "checksum"


async def _plant_legacy(app: Starlette, image_id: str, data: bytes) -> None:
    """Make ``image_id`` active with ``data`` the way an older release without format
    inspection would have stored it (store blob, location row, checksums)."""
    from glimpse.models.tables import Image, ImageLocation

    deps = app.state.deps
    store = deps.stores.default

    async def chunks() -> Any:
        yield data

    blob = await store.put(f"{image_id}-legacy", chunks())
    async with deps.db.begin() as s:
        image = await s.get(Image, image_id)
        image.status, image.size, image.checksum = "active", len(data), md5(data)
        image.os_hash_algo, image.os_hash_value = "sha512", img_hash(data)
        s.add(image)
        s.add(ImageLocation(image_id=image_id, store=store.name, url=blob.uri, meta={}))


def _corrupt(root: Path, content: bytes) -> None:
    """Overwrite the one stored blob under ``root`` in place."""
    blob = next(p for p in root.rglob("*") if p.is_file())
    blob.write_bytes(content)
