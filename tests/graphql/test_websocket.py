"""GraphQL over a real WebSocket against a live server.

Finding 4 (subscriptions leak): ``imageStatus``/``taskProgress`` re-check access on every
event and end when it ends (image made private, membership removed, account removed,
token expired); other members' records never reach a member; operations per connection
and connections per caller are capped. Finding 5: ``persisted_only`` holds over the
WebSocket too.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from glimpse.policy.tokens import mint_token
from tests.conftest import REPO_ROOT, LiveServer, start_server, stop_server
from tests.graphql.wsclient import gql_socket

IMAGE_STATUS = "subscription($id: ID!) { imageStatus(id: $id) { status action changes } }"
TASK_PROGRESS = "subscription($id: ID!) { taskProgress(id: $id) { status } }"
FAST = {
    "GLIMPSE_TASKS_POLL_SECONDS": "0.05",
    "GLIMPSE_GRAPHQL_SUBSCRIPTION_RECHECK_SECONDS": "0.3",
    "GLIMPSE_GRAPHQL_MAX_SUBSCRIPTIONS_PER_CONNECTION": "3",
    "GLIMPSE_GRAPHQL_MAX_CONNECTIONS_PER_CALLER": "2",
}
REGISTERED = "query Names { images(first: 5) { edges { node { name } } } }"
CREATE = 'mutation { createImage(input: {name: "over-ws"}) { id } }'


def _serve(env: dict[str, str]) -> Iterator[LiveServer]:
    root = Path(tempfile.mkdtemp(prefix="glimpse-ws-"))
    (root / "data").mkdir()
    server = start_server(root / "data", env={**FAST, **env})
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from _serve({})


def _rest(srv: LiveServer, project: str, *roles: str) -> httpx.Client:
    token = srv.token(project, *(roles or ("member", "reader")))
    return httpx.Client(base_url=srv.url, headers={"X-Auth-Token": token}, timeout=30)


def _image(owner: httpx.Client, **fields: Any) -> str:
    r = owner.post("/v2/images", json={"name": "watched", **fields})
    assert r.status_code == 201, r.text
    image_id: str = r.json()["id"]
    return image_id


def _patch(owner: httpx.Client, image_id: str, op: str = "replace", **changes: Any) -> None:
    ops = [{"op": op, "path": f"/{k}", "value": v} for k, v in changes.items()]
    r = owner.patch(
        f"/v2/images/{image_id}",
        content=json.dumps(ops),
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
    )
    assert r.status_code == 200, r.text


def _payloads(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["payload"]["data"]["imageStatus"] for m in messages if m["type"] == "next"]


async def test_stream_ends_when_the_image_turns_private(server: LiveServer) -> None:
    owner = _rest(server, "P1")
    image_id = _image(owner, visibility="community")
    async with gql_socket(server.url, server.token("P2")) as ws:
        await ws.subscribe("s", IMAGE_STATUS, {"id": image_id})
        assert (await ws.recv())["payload"]["data"]["imageStatus"]["status"] == "QUEUED"
        _patch(owner, image_id, visibility="private")
        _patch(owner, image_id, "add", os_secret="only for P1")
        rest = await ws.until_done("s")
    assert rest[-1]["type"] == "complete"
    assert "only for P1" not in json.dumps(rest)
    assert all(p["changes"].get("visibility") != "private" for p in _payloads(rest))


async def test_member_sees_only_its_own_record_and_ends_when_removed(
    server: LiveServer,
) -> None:
    owner = _rest(server, "P1")
    image_id = _image(owner, visibility="shared")
    assert owner.post(f"/v2/images/{image_id}/members", json={"member": "P2"}).status_code == 200
    async with gql_socket(server.url, server.token("P2")) as ws:
        await ws.subscribe("s", IMAGE_STATUS, {"id": image_id})
        await ws.recv()
        assert owner.post(f"/v2/images/{image_id}/members", json={"member": "P3"}).is_success
        _patch(owner, image_id, name="renamed")
        seen = [(await ws.recv())["payload"]["data"]["imageStatus"]]
        while seen[-1]["action"] != "update":
            seen.append((await ws.recv())["payload"]["data"]["imageStatus"])
        assert "P3" not in json.dumps(seen)  # another member's record is not P2's business
        assert owner.delete(f"/v2/images/{image_id}/members/P2").status_code == 204
        _patch(owner, image_id, name="after removal")
        rest = await ws.until_done("s")
    assert rest[-1]["type"] == "complete"
    assert "after removal" not in json.dumps(rest)


def _cli(*args: str, stdin: str = "") -> None:
    subprocess.run(
        [sys.executable, "-m", "glimpse", *args],
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
        cwd=REPO_ROOT,
    )


async def test_stream_ends_when_the_account_is_removed(server: LiveServer) -> None:
    data = str(server.data_dir)
    _cli("user", "add", "watcher", "--project", "P1", "--password-stdin", "--data-dir", data,
         stdin="correct horse battery\n")  # fmt: skip
    login = _rest(server, "P1").post(
        "/v2/tokens", json={"name": "watcher", "password": "correct horse battery"}
    )
    assert login.status_code == 200, login.text
    image_id = _image(_rest(server, "P1"))
    async with gql_socket(server.url, login.json()["token"]) as ws:
        await ws.subscribe("s", IMAGE_STATUS, {"id": image_id})
        await ws.recv()
        _cli("user", "remove", "watcher", "--data-dir", data)
        rest = await ws.until_done("s")
    assert rest[-1]["type"] == "complete"


async def test_stream_ends_when_the_token_expires(server: LiveServer) -> None:
    image_id = _image(_rest(server, "P1"))
    short = mint_token(server.settings, user="u", project="P1", roles=["member"], ttl=2)
    async with gql_socket(server.url, short) as ws:
        await ws.subscribe("img", IMAGE_STATUS, {"id": image_id})
        await ws.recv()
        rest = await ws.until_done("img")
    assert rest[-1]["type"] == "complete"


async def test_task_stream_checks_the_credential_too(server: LiveServer) -> None:
    owner = _rest(server, "P1")
    image_id = _image(owner, disk_format="raw", container_format="bare")
    r = owner.put(
        f"/v2/images/{image_id}/stage",
        content=b"x" * 1024,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 204, r.text
    short = mint_token(server.settings, user="u", project="P2", roles=["member"], ttl=60)
    r = owner.post(f"/v2/images/{image_id}/import", json={"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.text
    task_id = owner.get(f"/v2/images/{image_id}/tasks").json()["tasks"][0]["id"]
    async with gql_socket(server.url, short) as ws:  # another project: never sees it
        await ws.subscribe("t", TASK_PROGRESS, {"id": task_id})
        rest = await ws.until_done("t")
    assert all(m["type"] != "next" or m["payload"].get("errors") for m in rest)


async def test_operations_per_connection_are_capped(server: LiveServer) -> None:
    image_id = _image(_rest(server, "P1"))
    async with gql_socket(server.url, server.token("P1")) as ws:
        for n in range(3):
            await ws.subscribe(f"s{n}", IMAGE_STATUS, {"id": image_id})
            assert (await ws.recv())["id"] == f"s{n}"
        await ws.subscribe("one-too-many", IMAGE_STATUS, {"id": image_id})
        refused = await ws.until_done("one-too-many")
        assert refused[-1]["type"] == "error"
        assert "limit" in refused[-1]["payload"][0]["message"]
        await ws.send({"id": "s0", "type": "complete"})
        await ws.subscribe("again", IMAGE_STATUS, {"id": image_id})
        assert (await ws.recv())["id"] == "again"


async def test_connections_per_caller_are_capped(server: LiveServer) -> None:
    token = server.token("P7")
    async with gql_socket(server.url, token), gql_socket(server.url, token):
        async with gql_socket(server.url, token, ack=False) as third:
            with pytest.raises(ConnectionClosed) as closed:
                await third.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4429
        async with gql_socket(server.url, server.token("P8")):
            pass  # another caller is not affected
    async with gql_socket(server.url, token):
        pass  # closed connections give their slot back


@pytest.fixture(scope="module")
def persisted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    manifest = tmp_path_factory.mktemp("pq") / "persisted.json"
    digest = hashlib.sha256(REGISTERED.encode()).hexdigest()
    manifest.write_text(json.dumps({digest: REGISTERED}))
    yield from _serve(
        {
            "GLIMPSE_GRAPHQL_PERSISTED_QUERIES_FILE": str(manifest),
            "GLIMPSE_GRAPHQL_PERSISTED_ONLY": "true",
        }
    )


async def test_persisted_only_holds_over_websocket(persisted_server: LiveServer) -> None:
    srv = persisted_server
    digest = hashlib.sha256(REGISTERED.encode()).hexdigest()
    pq = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with gql_socket(srv.url, srv.token("P1")) as ws:
        await ws.subscribe("m", CREATE)
        refused = await ws.until_done("m")
        assert refused[-1]["type"] == "error"
        assert refused[-1]["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
        other = hashlib.sha256(CREATE.encode()).hexdigest()
        await ws.subscribe(
            "h", CREATE, extensions={"persistedQuery": {"version": 1, "sha256Hash": other}}
        )
        assert (await ws.until_done("h"))[-1]["payload"][0]["extensions"]["code"] == (
            "PERSISTED_QUERY_NOT_ALLOWED"
        )
        await ws.subscribe("q", None, extensions=pq)
        ok = await ws.until_done("q")
        assert ok[0]["type"] == "next"
        assert ok[0]["payload"]["data"] == {"images": {"edges": []}}
    listing = _rest(srv, "P1").get("/v2/images")
    assert listing.json()["images"] == []  # the refused mutation created nothing
