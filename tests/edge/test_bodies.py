"""Finding 1 (memory exhaustion without a token): every body on every route, and every
WebSocket message, is capped while it arrives, before anything parses it."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer, server_rss
from tests.edge.rawhttp import MiB, head, stream_until_answered

HUGE = 256 * MiB
JSON = "application/json"
PATCH = "application/openstack-images-v2.1-json-patch"


def _routes(live: LiveServer, image_id: str) -> list[tuple[str, str, str]]:
    """(method, path, content type) of every route that reads a JSON body."""
    return [
        ("POST", "/graphql", JSON),
        ("POST", "/v2/images", JSON),
        ("PATCH", f"/v2/images/{image_id}", PATCH),
        ("POST", f"/v2/images/{image_id}/members", JSON),
        ("POST", f"/v2/images/{image_id}/import", JSON),
        ("POST", "/v2/tokens", JSON),
        ("POST", "/v2/metadefs/namespaces", JSON),
        ("POST", "/v2/tasks", JSON),
    ]


def test_huge_bodies_are_refused_while_streaming_without_growing_the_worker(
    live: LiveServer,
) -> None:
    """256 MiB, declared or chunked, on every JSON route: 413 long before the end, and the
    server's resident memory stays where it was."""
    auth = {"X-Auth-Token": live.token("P1")}
    image_id = httpx.post(f"{live.url}/v2/images", json={"name": "x"}, headers=auth).json()["id"]
    routes = _routes(live, image_id)
    # Warm-up: every route once with a small body, so what is measured below is the
    # refused requests, not first-use imports and caches.
    for method, path, ctype in routes:
        httpx.request(
            method, f"{live.url}{path}", content=b"{}", headers={**auth, "Content-Type": ctype}
        )
    before = server_rss(live)
    for method, path, ctype in routes:
        for chunked in (False, True):
            framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(HUGE)}
            request = head(method, path, {**auth, "Content-Type": ctype, **framing})
            r = stream_until_answered(live.url, request, HUGE, chunked=chunked)
            assert r.status == 413, (method, path, chunked, r.head)
            assert r.sent < HUGE // 4, (method, path, chunked, r.sent)
    grown = server_rss(live) - before
    assert grown < 16 * MiB, f"server grew by {grown / MiB:.1f} MiB"


def test_anonymous_huge_body_is_refused_too(live: LiveServer) -> None:
    """No token needed to be refused: GraphQL reads bodies before it knows the caller."""
    request = head("POST", "/graphql", {"Content-Type": JSON, "Transfer-Encoding": "chunked"})
    r = stream_until_answered(live.url, request, 64 * MiB, chunked=True)
    assert r.status == 413
    assert json.loads(r.body)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_body_just_under_the_cap_still_works(live: LiveServer) -> None:
    auth = {"X-Auth-Token": live.token("P1")}
    name = "n" * 200
    padding = " " * (live.settings.max_json_body - 400)
    body = f'{{"name": "{name}"{padding}}}'.encode()
    r = httpx.post(f"{live.url}/v2/images", content=body, headers={**auth, "Content-Type": JSON})
    assert r.status_code == 201, r.text
    over = body[:-1] + b" " * 400 + b"}"
    r = httpx.post(f"{live.url}/v2/images", content=over, headers={**auth, "Content-Type": JSON})
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ('{"type": "ping", "payload": "' + "x" * (2 * MiB) + '"}', 1009),
        ("[" * 5000 + "]" * 5000, 4400),
        ('{"type": "ping", "payload": {"n": 99999999999999999999999}}', 4400),
    ],
    ids=["oversized", "deep", "huge-int"],
)
async def test_websocket_messages_are_capped(live: LiveServer, message: str, code: int) -> None:
    async with connect(
        live.url.replace("http://", "ws://") + "/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == code
