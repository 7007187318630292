"""Finding 2: every path that creates images or writes bytes counts against the quotas.

The review reached 36 MiB and 4 images under limits of 2 MiB / 2 images through resize,
the copy action and the imports. Each path is checked before its work starts (REST 413,
GraphQL QUOTA_EXCEEDED / PAYLOAD_TOO_LARGE) and again when its bytes land: for those
tests the task runner is driven by hand, so the project's space can be used up between
acceptance and the write, and a refused write must leave no blob and the image as it was.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from glimpse.resolvers.deps import Deps
from glimpse.tasks.runner import Runner
from tests.hardening.conftest import gql_code, gql_data
from tests.policy.helpers import served
from tests.tasks.conftest import admin, create_image, headers, md5, upload, wait_task

MiB = 1024 * 1024
OCTET = {"Content-Type": "application/octet-stream"}


def limited(settings: Settings, *, by_hand: bool = False, **quotas: Any) -> Settings:
    tasks = replace(settings.tasks, run_in_process=not by_hand, max_resize_size=64 * MiB)
    return replace(settings, quotas=replace(settings.quotas, **quotas), tasks=tasks)


async def _usage(http: httpx.AsyncClient, h: dict[str, str]) -> tuple[int, int]:
    """(images, stored MiB rounded up) as /v2/info/usage reports them."""
    r = await http.get("/v2/info/usage", headers=h)
    assert r.status_code == 200, r.text
    u = r.json()["usage"]
    return u["image_count_total"]["usage"], u["image_size_total"]["usage"]


def _stored_bytes(settings: Settings) -> int:
    """Bytes in the stores outside the staging area (what quotas count)."""
    return sum(
        p.stat().st_size
        for s in settings.stores
        for p in Path(s.options["path"]).rglob("*")
        if p.is_file() and "staging" not in p.parts
    )


async def _run_all(deps: Deps) -> None:
    runner = Runner(deps)
    while await runner.run_one():
        pass


async def _act(
    http: httpx.AsyncClient, h: dict[str, str], image_id: str, body: Any
) -> httpx.Response:
    return await http.post(f"/v2/images/{image_id}/actions", json=body, headers=h)


async def _show(http: httpx.AsyncClient, h: dict[str, str], image_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await http.get(f"/v2/images/{image_id}", headers=h)).json()
    return body


async def test_two_mib_two_images_hold_through_rest(
    settings: Settings, qemu_img: str, file_server: tuple[str, Path]
) -> None:
    """The review's scenario: every path tried, the limits hold at every step."""
    base, root = file_server
    (root / "big.raw").write_bytes(os.urandom(3 * MiB))
    capped = limited(settings, image_size_total=2, image_count=2)
    async with served(capped) as (http, _deps):
        h = headers(capped)
        a = await create_image(http, h, name="a")
        await upload(http, h, a["id"], os.urandom(MiB))
        r = await _act(http, h, a["id"], {"resize": 32 * MiB})
        assert r.status_code == 413, r.text
        assert "quota" in r.text
        r = await _act(http, h, a["id"], {"resize": 1024**4})
        assert r.status_code == 413
        assert "largest resize allowed" in r.text
        r = await _act(http, h, a["id"], {"copy": None})
        assert r.status_code == 202, r.text
        task = await wait_task(http, capped, r.json()["task_id"])
        assert task["status"] == "success", task
        r = await _act(http, h, a["id"], {"copy": None})
        assert r.status_code == 413  # a third image
        assert "count quota" in r.text
        assert (await http.post("/v2/images", json={}, headers=h)).status_code == 413
        r = await http.post(
            f"/v2/images/{a['id']}/import",
            json={"method": {"name": "copy-image"}, "stores": ["second"]},
            headers=admin(capped),
        )
        assert r.status_code == 413  # a second copy of 1 MiB next to 2 MiB stored
        copy = r.json() if r.status_code == 202 else None
        assert copy is None
        await http.delete(f"/v2/images/{task['result']['image_id']}", headers=h)
        c = await create_image(http, h, name="c")
        body = {"method": {"name": "web-download", "uri": f"{base}/big.raw"}}
        r = await http.post(f"/v2/images/{c['id']}/import", json=body, headers=h)
        assert r.status_code == 202, r.text
        tasks = (await http.get(f"/v2/images/{c['id']}/tasks", headers=h)).json()["tasks"]
        task = await wait_task(http, capped, tasks[0]["id"])
        assert task["status"] == "failure"
        assert "quota" in task["message"]
        assert (await _show(http, h, c["id"]))["status"] == "queued"
        assert await _usage(http, h) == (2, 1)
        assert _stored_bytes(capped) == MiB


async def test_imports_are_checked_before_they_start(
    settings: Settings, file_server: tuple[str, Path]
) -> None:
    capped = limited(settings, image_size_total=2)
    async with served(capped) as (http, _deps):
        h = headers(capped)
        a = await create_image(http, h, name="a")
        await upload(http, h, a["id"], os.urandom(MiB + MiB // 2))
        staged = await create_image(http, h, name="staged")
        r = await http.put(
            f"/v2/images/{staged['id']}/stage",
            content=os.urandom(MiB),
            headers={**h, **OCTET},
        )
        assert r.status_code == 204
        r = await http.post(
            f"/v2/images/{staged['id']}/import",
            json={"method": {"name": "glance-direct"}},
            headers=h,
        )
        assert r.status_code == 413  # 1 MiB staged, 0.5 MiB left
        assert (await _show(http, h, staged["id"]))["status"] == "uploading"
        r = await http.post(
            f"/v2/images/{a['id']}/import",
            json={"method": {"name": "copy-image"}, "stores": ["second"]},
            headers=admin(capped),
        )
        assert r.status_code == 413  # 2 x 1.5 MiB
        b = await create_image(http, h, name="b")
        await upload(http, h, b["id"], os.urandom(MiB // 2))
        web = await create_image(http, h, name="web")
        base, _root = file_server
        body = {"method": {"name": "web-download", "uri": f"{base}/anything"}}
        r = await http.post(f"/v2/images/{web['id']}/import", json=body, headers=h)
        assert r.status_code == 413  # nothing left at all
        assert _stored_bytes(capped) == 2 * MiB


async def _fill(http: httpx.AsyncClient, h: dict[str, str], size: int) -> str:
    """Use up ``size`` bytes of the project's quota with one more image."""
    filler = await create_image(http, h, name="filler")
    await upload(http, h, filler["id"], os.urandom(size))
    return str(filler["id"])


async def test_resize_is_checked_again_when_the_bytes_land(
    settings: Settings, qemu_img: str
) -> None:
    capped = limited(settings, by_hand=True, image_size_total=2)
    async with served(capped) as (http, deps):
        h = headers(capped)
        data = os.urandom(MiB)
        a = await create_image(http, h, name="a")
        await upload(http, h, a["id"], data)
        r = await _act(http, h, a["id"], {"resize": MiB + MiB // 2})
        assert r.status_code == 202, r.text  # fits: 1.5 of 2 MiB
        await _fill(http, h, 3 * MiB // 4)  # now it does not: 1.5 + 0.75 > 2
        before = _stored_bytes(capped)
        await _run_all(deps)
        task = await wait_task(http, capped, r.json()["task_id"])
        assert task["status"] == "failure"
        assert "quota" in task["message"]
        shown = await _show(http, h, a["id"])
        assert (shown["status"], shown["size"], shown["checksum"]) == ("active", MiB, md5(data))
        assert "os_glance_import_task" not in shown
        assert (await http.get(f"/v2/images/{a['id']}/file", headers=h)).content == data
        assert _stored_bytes(capped) == before


async def test_copy_is_checked_again_when_the_bytes_land(settings: Settings) -> None:
    capped = limited(settings, by_hand=True, image_size_total=2)
    async with served(capped) as (http, deps):
        h = headers(capped)
        a = await create_image(http, h, name="a")
        await upload(http, h, a["id"], os.urandom(3 * MiB // 4))
        r = await _act(http, h, a["id"], {"copy": "second"})
        assert r.status_code == 202, r.text  # 2 x 0.75 of 2 MiB
        await _fill(http, h, 3 * MiB // 4)  # 3 x 0.75 would not fit
        before = _stored_bytes(capped)
        await _run_all(deps)
        task = await wait_task(http, capped, r.json()["task_id"])
        assert task["status"] == "failure"
        assert "quota" in task["message"]
        copy = await _show(http, h, r.json()["image_id"])
        assert (copy["status"], copy["size"], copy.get("stores")) == ("queued", None, None)
        assert _stored_bytes(capped) == before


async def test_imports_are_checked_again_when_the_bytes_land(
    settings: Settings, file_server: tuple[str, Path]
) -> None:
    base, root = file_server
    (root / "disk.raw").write_bytes(os.urandom(MiB))
    capped = limited(settings, by_hand=True, image_size_total=2)
    async with served(capped) as (http, deps):
        h = headers(capped)
        web = await create_image(http, h, name="web")
        body = {"method": {"name": "web-download", "uri": f"{base}/disk.raw"}}
        web_task = await http.post(f"/v2/images/{web['id']}/import", json=body, headers=h)
        assert web_task.status_code == 202
        staged = await create_image(http, h, name="staged")
        content = {**h, **OCTET}
        r = await http.put(f"/v2/images/{staged['id']}/stage", content=b"s" * MiB, headers=content)
        assert r.status_code == 204
        body = {"method": {"name": "glance-direct"}}
        direct_task = await http.post(f"/v2/images/{staged['id']}/import", json=body, headers=h)
        assert direct_task.status_code == 202
        active = await create_image(http, h, name="active")
        await upload(http, h, active["id"], os.urandom(MiB // 2))
        body = {"method": {"name": "copy-image"}, "stores": ["second"]}
        r = await http.post(f"/v2/images/{active['id']}/import", json=body, headers=admin(capped))
        assert r.status_code == 202, r.text
        await _fill(http, h, MiB)  # 1.5 MiB used: 0.5 left, only the copy still fits
        await _run_all(deps)
        shown = [await _show(http, h, i["id"]) for i in (web, staged, active)]
        assert [s["status"] for s in shown] == ["queued", "queued", "active"]
        assert [s["checksum"] for s in shown[:2]] == [None, None]
        assert shown[1]["os_glance_failed_import"] == "local"
        assert shown[2]["stores"] == "local,second"
        assert _stored_bytes(capped) == 2 * MiB
        assert await _usage(http, h) == (4, 2)


RESIZE = "mutation($id: ID!, $s: BigInt!) { resizeImage(id: $id, size: $s) { id } }"
COPY = "mutation($id: ID!) { copyImage(id: $id) { id status } }"
IMPORT = """mutation($id: ID!, $input: ImportImageInput!) {
  importImage(id: $id, input: $input) { id } }"""


async def test_the_same_limits_through_graphql(
    settings: Settings, qemu_img: str, file_server: tuple[str, Path]
) -> None:
    base, root = file_server
    (root / "big.raw").write_bytes(os.urandom(3 * MiB))
    capped = limited(settings, image_size_total=2, image_count=2)
    async with served(capped) as (http, _deps):
        h = headers(capped)
        a = await create_image(http, h, name="a")
        await upload(http, h, a["id"], os.urandom(MiB))
        body = await gql_data(http, h, RESIZE, id=a["id"], s=32 * MiB)
        assert gql_code(body) == "QUOTA_EXCEEDED"
        body = await gql_data(http, h, RESIZE, id=a["id"], s=1024**4)
        assert gql_code(body) == "PAYLOAD_TOO_LARGE"
        web = await create_image(http, h, name="web")
        body = await gql_data(
            http,
            h,
            IMPORT,
            id=web["id"],
            input={"method": "WEB_DOWNLOAD", "uri": f"{base}/big.raw"},
        )
        task = await wait_task(http, capped, body["data"]["importImage"]["id"])
        assert task["status"] == "failure"
        assert "quota" in task["message"]
        body = await gql_data(http, h, COPY, id=a["id"])
        assert gql_code(body) == "QUOTA_EXCEEDED"  # a third image
        assert await _usage(http, h) == (2, 1)


@pytest.mark.usefixtures("database_url")
async def test_copies_in_several_stores_count_once_each(settings: Settings) -> None:
    """Like Glance, stored bytes count once per store holding a copy."""
    capped = limited(settings, image_size_total=10)
    async with served(capped) as (http, _deps):
        h = headers(capped)
        a = await create_image(http, h, name="a")
        await upload(http, h, a["id"], os.urandom(MiB))
        body = {"method": {"name": "copy-image"}, "stores": ["second"]}
        r = await http.post(f"/v2/images/{a['id']}/import", json=body, headers=admin(capped))
        assert r.status_code == 202
        tasks = (await http.get(f"/v2/images/{a['id']}/tasks", headers=h)).json()["tasks"]
        assert (await wait_task(http, capped, tasks[0]["id"]))["status"] == "success"
        assert await _usage(http, h) == (1, 2)
