"""The same imports and actions through GraphQL: mutations return the task, which is
followed with ``task(id)``; ``Image.tasks``, ``tasks`` and the federated ``Task`` entity."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx

from glimpse.core.config import Settings
from tests.tasks.conftest import admin, create_image, gql, headers, md5, upload

TASK = "id type status progress message result attempts image { id status checksum name }"


async def _finish(http: httpx.AsyncClient, h: dict[str, str], task_id: str) -> dict[str, Any]:
    for _ in range(600):
        body = await gql(http, h, f"query($id: ID!) {{ task(id: $id) {{ {TASK} }} }}", id=task_id)
        task: dict[str, Any] = body["data"]["task"]
        if task["status"] in ("SUCCESS", "FAILURE"):
            return task
        await asyncio.sleep(0.05)
    raise AssertionError("task did not finish")


IMPORT = f"""mutation($id: ID!, $input: ImportImageInput!) {{
  importImage(id: $id, input: $input) {{ {TASK} }} }}"""


async def test_import_methods(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Any]
) -> None:
    base, root = file_server
    data = os.urandom(300_000)
    (root / "d.raw").write_bytes(data)
    h = headers(settings)
    web = await create_image(http, h, name="web")
    body = await gql(
        http, h, IMPORT, id=web["id"], input={"method": "WEB_DOWNLOAD", "uri": f"{base}/d.raw"}
    )
    assert body["data"]["importImage"]["type"] == "api_image_import", body
    task = await _finish(http, h, body["data"]["importImage"]["id"])
    assert task["status"] == "SUCCESS", task
    assert task["image"]["checksum"] == md5(data)
    direct = await create_image(http, h, name="direct")
    r = await http.put(
        f"/v2/images/{direct['id']}/stage",
        content=data,
        headers={**h, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 204
    body = await gql(http, h, IMPORT, id=direct["id"], input={"method": "GLANCE_DIRECT"})
    task = await _finish(http, h, body["data"]["importImage"]["id"])
    assert (task["status"], task["image"]["status"]) == ("SUCCESS", "ACTIVE")
    body = await gql(
        http,
        admin(settings),
        IMPORT,
        id=direct["id"],
        input={"method": "COPY_IMAGE", "stores": ["second"]},
    )
    task = await _finish(http, h, body["data"]["importImage"]["id"])
    assert task["status"] == "SUCCESS", task
    q = "query($id: ID!) { image(id: $id) { stores tasks { type status } } }"
    img = (await gql(http, h, q, id=direct["id"]))["data"]["image"]
    assert img["stores"] == ["local", "second"]
    assert img["tasks"] == [{"type": "api_image_import", "status": "SUCCESS"}] * 2
    bad = {"method": "WEB_DOWNLOAD", "uri": "ftp://x/y"}
    # web is active now: Glance refuses on its state (409) before looking at the URI
    body = await gql(http, h, IMPORT, id=web["id"], input=bad)
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    queued = await create_image(http, h, name="queued")
    body = await gql(http, h, IMPORT, id=queued["id"], input=bad)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_actions(http: httpx.AsyncClient, settings: Settings, qemu_img: str) -> None:
    h = headers(settings)
    data = os.urandom(512 * 1024)
    img = await create_image(http, h, name="g", tags=["t"])
    await upload(http, h, img["id"], data)
    q = "mutation($id: ID!) { pauseImage(id: $id) { status } }"
    assert (await gql(http, h, q, id=img["id"]))["data"]["pauseImage"]["status"] == "DEACTIVATED"
    q = "mutation($id: ID!) { unpauseImage(id: $id) { status } }"
    assert (await gql(http, h, q, id=img["id"]))["data"]["unpauseImage"]["status"] == "ACTIVE"
    q = f"""mutation($id: ID!, $t: String, $n: String) {{
        copyImage(id: $id, target: $t, name: $n) {{ {TASK} }} }}"""
    body = await gql(http, h, q, id=img["id"], t="second", n="gcopy")
    task = await _finish(http, h, body["data"]["copyImage"]["id"])
    assert task["status"] == "SUCCESS", task
    assert (task["image"]["name"], task["image"]["checksum"]) == ("gcopy", md5(data))
    assert task["image"]["id"] != img["id"]
    body = await gql(http, h, q, id=img["id"], t="/etc/passwd")
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    q = f"""mutation($id: ID!, $s: BigInt!) {{ resizeImage(id: $id, size: $s) {{ {TASK} }} }}"""
    body = await gql(http, h, q, id=img["id"], s=1024 * 1024)
    task = await _finish(http, h, body["data"]["resizeImage"]["id"])
    assert task["status"] == "SUCCESS", task
    assert task["result"]["virtual_size"] == 1024 * 1024
    q = "query($id: ID!) { image(id: $id) { virtualSize size tasks { type } } }"
    shown = (await gql(http, h, q, id=img["id"]))["data"]["image"]
    assert (shown["virtualSize"], shown["size"]) == (1024 * 1024, 1024 * 1024)
    assert [t["type"] for t in shown["tasks"]] == ["resize"]


async def test_tasks_query_and_entity(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Any]
) -> None:
    base, root = file_server
    (root / "d.raw").write_bytes(b"z" * 4096)
    h = headers(settings)
    ids = []
    for n in range(3):
        img = await create_image(http, h, name=f"i{n}")
        body = await gql(
            http, h, IMPORT, id=img["id"], input={"method": "WEB_DOWNLOAD", "uri": f"{base}/d.raw"}
        )
        ids.append(body["data"]["importImage"]["id"])
    for i in ids:
        await _finish(http, h, i)
    q = """query($after: String) { tasks(first: 2, after: $after, status: SUCCESS) {
        nodes { id } endCursor hasNextPage } }"""
    page = (await gql(http, h, q))["data"]["tasks"]
    assert [n["id"] for n in page["nodes"]] == ids[::-1][:2]
    assert page["hasNextPage"]
    page = (await gql(http, h, q, after=page["endCursor"]))["data"]["tasks"]
    assert [n["id"] for n in page["nodes"]] == [ids[0]]
    other = headers(settings, "P2")
    assert (await gql(http, other, q))["data"]["tasks"]["nodes"] == []
    ent = """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Task { id status } } }"""
    reps = [{"__typename": "Task", "id": ids[0]}, {"__typename": "Task", "id": "nope"}]
    body = await gql(http, h, ent, r=reps)
    assert body["data"]["_entities"] == [{"id": ids[0], "status": "SUCCESS"}, None]
    body = await gql(http, other, ent, r=reps[:1])
    assert body["data"]["_entities"] == [None]
