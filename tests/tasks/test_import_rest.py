"""Interoperable import through the Glance API, end to end with the in-process runner."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import httpx

from glimpse.core.config import Settings
from tests.tasks.conftest import (
    admin,
    create_image,
    headers,
    image_tasks,
    md5,
    upload,
    wait_task,
)

DATA = os.urandom(3 * 1024 * 1024 + 17)


async def _show(http: httpx.AsyncClient, h: dict[str, str], image_id: str) -> dict[str, Any]:
    r = await http.get(f"/v2/images/{image_id}", headers=h)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _download(http: httpx.AsyncClient, h: dict[str, str], image_id: str) -> bytes:
    r = await http.get(f"/v2/images/{image_id}/file", headers=h)
    assert r.status_code == 200, r.text
    return r.content


async def _only_task(
    http: httpx.AsyncClient, settings: Settings, h: dict[str, str], image_id: str
) -> dict[str, Any]:
    tasks = await image_tasks(http, h, image_id)
    assert len(tasks) == 1
    assert tasks[0]["type"] == "api_image_import"
    return await wait_task(http, settings, tasks[0]["id"])


async def test_discovery(http: httpx.AsyncClient, settings: Settings) -> None:
    h = headers(settings)
    r = await http.get("/v2/info/import", headers=h)
    assert r.status_code == 200
    assert r.json()["import-methods"]["value"] == ["glance-direct", "web-download", "copy-image"]
    r = await http.post("/v2/images", json={"name": "x"}, headers=h)
    assert r.headers["OpenStack-image-import-methods"] == "glance-direct,web-download,copy-image"


async def test_glance_direct(http: httpx.AsyncClient, settings: Settings) -> None:
    h = headers(settings)
    img = await create_image(http, h, name="direct")
    r = await http.put(
        f"/v2/images/{img['id']}/stage",
        content=DATA,
        headers={**h, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 204, r.text
    shown = await _show(http, h, img["id"])
    assert shown["status"] == "uploading"
    assert (await http.get(f"/v2/images/{img['id']}/file", headers=h)).status_code == 204
    r = await http.put(
        f"/v2/images/{img['id']}/stage",
        content=b"again",
        headers={**h, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 409  # already staged
    r = await http.post(
        f"/v2/images/{img['id']}/import", json={"method": {"name": "glance-direct"}}, headers=h
    )
    assert r.status_code == 202, r.text
    assert r.content == b""
    task = await _only_task(http, settings, h, img["id"])
    assert task["status"] == "success", task
    shown = await _show(http, h, img["id"])
    assert shown["status"] == "active"
    assert shown["checksum"] == md5(DATA)
    assert shown["size"] == len(DATA)
    assert shown["virtual_size"] == len(DATA)
    assert "os_glance_import_task" not in shown
    assert shown["os_glance_importing_to_stores"] == ""
    assert shown["os_glance_failed_import"] == ""
    assert await _download(http, h, img["id"]) == DATA
    assert list((Path(settings.stores[0].options["path"]) / "staging").glob("*")) == []


async def test_glance_direct_refused_format_goes_back_to_queued(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Any]
) -> None:
    """Staged data is inspected as it arrives; data refused at import (here: downloaded)
    sends the image back to queued with the failed store recorded."""
    h = headers(settings)
    img = await create_image(http, h, disk_format="qcow2")
    r = await http.put(
        f"/v2/images/{img['id']}/stage",
        content=b"not a qcow2" * 100,
        headers={**h, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 415
    assert "does not match disk_format" in r.text
    assert (await _show(http, h, img["id"]))["status"] == "queued"
    assert list((Path(settings.stores[0].options["path"]) / "staging").glob("*")) == []
    r = await http.post(
        f"/v2/images/{img['id']}/import", json={"method": {"name": "glance-direct"}}, headers=h
    )
    assert r.status_code == 409  # nothing staged
    base, root = file_server
    (root / "not.qcow2").write_bytes(b"not a qcow2" * 100)
    body = {"method": {"name": "web-download", "uri": f"{base}/not.qcow2"}}
    r = await http.post(f"/v2/images/{img['id']}/import", json=body, headers=h)
    assert r.status_code == 202
    task = await _only_task(http, settings, h, img["id"])
    assert task["status"] == "failure"
    assert "does not match disk_format" in task["message"]
    shown = await _show(http, h, img["id"])
    assert shown["status"] == "queued"
    assert shown["checksum"] is None
    assert shown["os_glance_failed_import"] == "local"
    assert "os_glance_import_task" not in shown


async def test_web_download_and_redirect_filtering(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Any]
) -> None:
    base, root = file_server
    (root / "disk.raw").write_bytes(DATA)
    h = headers(settings)
    img = await create_image(http, h, name="web")
    r = await http.post(
        f"/v2/images/{img['id']}/import",
        headers=h,
        json={"method": {"name": "web-download", "uri": f"{base}/redirect?to=/disk.raw"}},
    )
    assert r.status_code == 202, r.text
    task = await _only_task(http, settings, h, img["id"])
    assert task["status"] == "success", task
    assert task["input"]["uri"].endswith("/redirect?to=/disk.raw")
    assert (await _show(http, h, img["id"]))["checksum"] == md5(DATA)
    assert await _download(http, h, img["id"]) == DATA
    # a redirect to a host the filter denies fails the import, image back to queued
    img2 = await create_image(http, h, name="web2")
    bad = "http://denied.invalid/latest/meta-data"
    r = await http.post(
        f"/v2/images/{img2['id']}/import",
        headers=h,
        json={"method": {"name": "web-download", "uri": f"{base}/redirect?to={bad}"}},
    )
    assert r.status_code == 202
    # (loopback is allowed in these tests; denied.invalid is on the deny list)
    task = await _only_task(http, settings, h, img2["id"])
    assert task["status"] == "failure"
    assert "does not pass filtering" in task["message"], task
    assert "denied.invalid" in task["message"]
    assert (await _show(http, h, img2["id"]))["status"] == "queued"


async def test_web_download_filter_rejects_at_request_time(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    h = headers(settings)
    img = await create_image(http, h)
    for uri in ("ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "gopher://x/"):
        r = await http.post(
            f"/v2/images/{img['id']}/import",
            headers=h,
            json={"method": {"name": "web-download", "uri": uri}},
        )
        assert r.status_code == 400, (uri, r.text)
        assert "does not pass filtering" in r.text
    assert (await _show(http, h, img["id"]))["status"] == "queued"


async def test_copy_image_to_second_store(http: httpx.AsyncClient, settings: Settings) -> None:
    h, a = headers(settings), admin(settings)
    img = await create_image(http, h)
    await upload(http, h, img["id"], DATA)
    body = {"method": {"name": "copy-image"}, "stores": ["second"]}
    r = await http.post(f"/v2/images/{img['id']}/import", headers=h, json=body)
    assert r.status_code == 403  # copy-image is admin-only (Glance's copy_image policy)
    r = await http.post(
        f"/v2/images/{img['id']}/import", headers=a, json={**body, "stores": ["local"]}
    )
    assert r.status_code == 400  # already there
    r = await http.post(
        f"/v2/images/{img['id']}/import", headers=a, json={**body, "stores": ["nope"]}
    )
    assert r.status_code == 409
    r = await http.post(f"/v2/images/{img['id']}/import", headers=a, json=body)
    assert r.status_code == 202, r.text
    task = await _only_task(http, settings, h, img["id"])
    assert task["status"] == "success", task
    assert task["result"]["stores"] == ["local", "second"]
    shown = await _show(http, h, img["id"])
    assert shown["status"] == "active"
    assert shown["stores"] == "local,second"
    copies = [p async for p in anyio.Path(settings.stores[1].options["path"]).glob("*")]
    assert len(copies) == 1
    assert md5(await copies[0].read_bytes()) == md5(DATA)


async def test_import_preconditions_and_lock(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Any]
) -> None:
    base, root = file_server
    h = headers(settings)
    img = await create_image(http, h)
    url = f"/v2/images/{img['id']}/import"
    for body in (
        {},
        {"method": {}},
        {"method": {"name": "nope"}},
        {"method": {"name": "glance-direct"}, "all_stores": "yes"},
        {"method": {"name": "web-download"}},
    ):
        assert (await http.post(url, headers=h, json=body)).status_code == 400, body
    # glance-direct needs staged data (uploading), copy-image an active image
    assert (
        await http.post(url, headers=h, json={"method": {"name": "glance-direct"}})
    ).status_code == 409
    noformat = (await http.post("/v2/images", json={"name": "n"}, headers=h)).json()
    r = await http.post(
        f"/v2/images/{noformat['id']}/import",
        headers=h,
        json={"method": {"name": "web-download", "uri": f"{base}/x"}},
    )
    assert r.status_code == 409
    # the import lock: a second import while the first runs is a 409
    (root / "slow.raw").write_bytes(DATA)
    first = await http.post(
        url, headers=h, json={"method": {"name": "web-download", "uri": f"{base}/slow.raw"}}
    )
    assert first.status_code == 202
    again = await http.post(
        url, headers=h, json={"method": {"name": "web-download", "uri": f"{base}/slow.raw"}}
    )
    assert again.status_code == 409
    await _only_task(http, settings, h, img["id"])
    r = await http.post(
        url, headers=h, json={"method": {"name": "web-download", "uri": f"{base}/slow.raw"}}
    )
    assert r.status_code == 409  # active now: only copy-image is allowed


async def test_copy_image_partial_failure(http: httpx.AsyncClient, settings: Settings) -> None:
    h, a = headers(settings), admin(settings)
    img = await create_image(http, h)
    await upload(http, h, img["id"], DATA)
    url = f"/v2/images/{img['id']}/import"
    body = {"method": {"name": "copy-image"}, "stores": ["second", "archive"]}
    r = await http.post(url, headers=a, json={**body, "all_stores_must_succeed": False})
    assert r.status_code == 202, r.text
    task = await _only_task(http, settings, h, img["id"])
    assert task["status"] == "success", task
    assert (task["result"]["stores"], task["result"]["failed_stores"]) == (
        ["local", "second"],
        ["archive"],
    )
    shown = await _show(http, h, img["id"])
    assert (shown["status"], shown["os_glance_failed_import"]) == ("active", "archive")
    # all stores must succeed (the default): the task fails, the image stays active
    r = await http.post(
        url, headers=a, json={"method": {"name": "copy-image"}, "stores": ["archive"]}
    )
    assert r.status_code == 202
    tasks = await image_tasks(http, h, img["id"])
    task = await wait_task(http, settings, tasks[0]["id"])
    assert task["status"] == "failure"
    assert "read-only" in task["message"]
    shown = await _show(http, h, img["id"])
    assert (shown["status"], shown["stores"]) == ("active", "local,second")
    assert "os_glance_import_task" not in shown
    # all_stores skips read-only stores and those already holding the image
    r = await http.post(url, headers=a, json={"method": {"name": "copy-image"}, "all_stores": True})
    assert r.status_code == 400
