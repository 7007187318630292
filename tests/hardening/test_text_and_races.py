"""PostgreSQL specifics, tested on both databases: text no database can store is a 400
(never a 500), and N simultaneous creates of one thing give one success and 409s.

NUL (U+0000) is refused by PostgreSQL; a lone surrogate (``\\ud800`` in JSON) cannot be
encoded by any driver. Bodies are sent as ASCII JSON so the escapes reach the server as
they would from a hostile client.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from glimpse.core.config import Settings
from glimpse.core.errors import Conflict
from glimpse.models.tables import ImageEvent, ImageMember, ImageTag
from glimpse.resolvers import accounts
from tests.hardening.conftest import gql_code, gql_data
from tests.tasks.conftest import admin, create_image, headers

BAD = ["a\x00b", "a\ud800b"]
JSON = {"Content-Type": "application/json"}
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


def _escaped(body: Any) -> str:
    return json.dumps(body)  # ASCII: NUL as \u0000, a lone surrogate as \ud800


async def _send(
    http: httpx.AsyncClient, method: str, url: str, h: dict[str, str], body: Any = None
) -> httpx.Response:
    content = None if body is None else _escaped(body)
    extra = PATCH if method == "PATCH" else JSON
    return await http.request(method, url, content=content, headers={**h, **extra})


@pytest.mark.parametrize("bad", BAD, ids=["nul", "surrogate"])
async def test_rest_refuses_unstorable_text(
    http: httpx.AsyncClient, settings: Settings, bad: str
) -> None:
    h, a = headers(settings), admin(settings)
    img = await create_image(http, h, visibility="shared")
    i = img["id"]
    ns = (await _send(http, "POST", "/v2/metadefs/namespaces", a, {"namespace": "ok-ns"})).json()
    assert ns["namespace"] == "ok-ns"
    calls: list[tuple[str, str, dict[str, str], Any]] = [
        ("POST", "/v2/images", h, {"name": bad}),
        ("POST", "/v2/images", h, {"os_distro": bad}),
        ("POST", "/v2/images", h, {bad: "value"}),
        ("POST", "/v2/images", h, {"tags": [bad]}),
        ("PATCH", f"/v2/images/{i}", h, [{"op": "add", "path": "/name", "value": bad}]),
        ("PATCH", f"/v2/images/{i}", h, [{"op": "add", "path": "/k", "value": bad}]),
        ("PATCH", f"/v2/images/{i}", h, [{"op": "add", "path": f"/{bad}", "value": "v"}]),
        ("POST", f"/v2/images/{i}/members", h, {"member": bad}),
        ("POST", "/v2/metadefs/namespaces", a, {"namespace": bad}),
        ("POST", "/v2/metadefs/namespaces", a, {"namespace": "n2", "description": bad}),
        ("POST", "/v2/metadefs/namespaces/ok-ns/objects", a, {"name": bad}),
        (
            "POST",
            "/v2/metadefs/namespaces/ok-ns/properties",
            a,
            {"name": bad, "title": "t", "type": "string"},
        ),
        (
            "POST",
            "/v2/metadefs/namespaces/ok-ns/properties",
            a,
            {"name": "p", "title": "t", "type": "string", "enum": [bad]},
        ),
        ("POST", "/v2/metadefs/namespaces/ok-ns/tags", a, {"tags": [{"name": bad}]}),
        (
            "POST",
            "/v2/tasks",
            a,
            {
                "type": "import",
                "input": {
                    "import_from": "http://example.com/x",
                    "import_from_format": "raw",
                    "image_properties": {"name": bad},
                },
            },
        ),
        ("POST", "/v2/tokens", {}, {"name": bad, "password": "whatever!"}),
    ]
    for method, url, who, body in calls:
        r = await _send(http, method, url, who, body)
        assert r.status_code == 400, (method, url, body, r.status_code, r.text)
    if bad == "a\x00b":  # a path segment can carry NUL (%00), not a lone surrogate
        segment = "a%00b"
        for method, url, who in [
            ("PUT", f"/v2/images/{i}/tags/{segment}", h),
            ("DELETE", f"/v2/images/{i}/tags/{segment}", h),
            ("GET", f"/v2/images/{i}/members/{segment}", h),
            ("PUT", f"/v2/images/{i}/members/{segment}", h),
            ("DELETE", f"/v2/images/{i}/members/{segment}", h),
            ("GET", f"/v2/metadefs/namespaces/{segment}", a),
            ("DELETE", f"/v2/metadefs/namespaces/{segment}", a),
            ("GET", f"/v2/metadefs/namespaces/ok-ns/objects/{segment}", a),
            ("GET", f"/v2/metadefs/namespaces/ok-ns/properties/{segment}", a),
            ("DELETE", f"/v2/metadefs/namespaces/ok-ns/tags/{segment}", a),
            ("DELETE", f"/v2/metadefs/namespaces/ok-ns/resource_types/{segment}", a),
        ]:
            body = {"status": "accepted"} if method == "PUT" and "members" in url else None
            r = await _send(http, method, url, who, body)
            assert r.status_code == 400, (method, url, r.status_code, r.text)
    # nothing half-written: the image is unchanged
    shown = (await http.get(f"/v2/images/{i}", headers=h)).json()
    assert (shown["name"], shown.get("k")) == (img["name"], None)


GQL_CALLS = [
    ("mutation($v: String!) { createImage(input: {name: $v}) { id } }", {}),
    (
        "mutation($id: ID!, $v: String!) { updateImage(id: $id, input: "
        '{setProperties: [{key: "k", value: $v}]}) { id } }',
        {"id": True},
    ),
    (
        "mutation($id: ID!, $v: String!) { updateImage(id: $id, input: "
        '{setProperties: [{key: $v, value: "v"}]}) { id } }',
        {"id": True},
    ),
    ("mutation($id: ID!, $v: String!) { addImageTag(id: $id, tag: $v) { id } }", {"id": True}),
    ("mutation($id: ID!, $v: String!) { removeImageTag(id: $id, tag: $v) { id } }", {"id": True}),
    (
        "mutation($id: ID!, $v: String!) { addImageMember(id: $id, member: $v) { memberId } }",
        {"id": True},
    ),
    (
        "mutation($v: String!) { createMetadefNamespace(input: {namespace: $v}) { namespace } }",
        {"admin": True},
    ),
    ("query($v: String!) { metadefNamespace(namespace: $v) { namespace } }", {"admin": True}),
    (
        'mutation($v: String!) { createMetadefTag(namespace: "ok-gql", name: $v) { name } }',
        {"admin": True},
    ),
    ('mutation($v: String!) { login(name: $v, password: "whatever!") { user } }', {}),
]


@pytest.mark.parametrize("bad", BAD, ids=["nul", "surrogate"])
async def test_graphql_refuses_unstorable_text(
    http: httpx.AsyncClient, settings: Settings, bad: str
) -> None:
    h, a = headers(settings), admin(settings)
    img = await create_image(http, h, visibility="shared")
    made = await gql_data(
        http, a, 'mutation { createMetadefNamespace(input: {namespace: "ok-gql"}) { namespace } }'
    )
    assert "errors" not in made, made
    for query, needs in GQL_CALLS:
        variables: dict[str, Any] = {"v": bad}
        if needs.get("id"):
            variables["id"] = img["id"]
        who = a if needs.get("admin") else h
        r = await http.post(
            "/graphql",
            content=_escaped({"query": query, "variables": variables}),
            headers={**who, **JSON},
        )
        assert r.status_code in (200, 400), (query, r.status_code, r.text)
        body = r.json()
        assert gql_code(body) in ("INVALID_INPUT", "BAD_USER_INPUT", "BAD_REQUEST"), (query, body)


def _outcomes(statuses: list[int]) -> Counter[int]:
    return Counter(statuses)


async def test_simultaneous_member_and_tag_adds(
    http: httpx.AsyncClient, app: Starlette, settings: Settings
) -> None:
    h = headers(settings)
    img = await create_image(http, h, visibility="shared")
    i = img["id"]

    async def member() -> int:
        r = await http.post(f"/v2/images/{i}/members", json={"member": "P9"}, headers=h)
        return r.status_code

    assert _outcomes(await asyncio.gather(*[member() for _ in range(10)])) == {200: 1, 409: 9}
    q = 'mutation($id: ID!) { addImageMember(id: $id, member: "P8") { memberId } }'
    codes = await asyncio.gather(*[gql_data(http, h, q, id=i) for _ in range(10)])
    assert Counter(gql_code(b) for b in codes) == {None: 1, "CONFLICT": 9}

    async def tag() -> int:
        return (await http.put(f"/v2/images/{i}/tags/same", headers=h)).status_code

    # adding a present tag is a 204 in Glance; a request that raced the one adding it
    # (and lost on the unique key) is a 409, never a 500; exactly one tag is left
    outcomes = _outcomes(await asyncio.gather(*[tag() for _ in range(10)]))
    assert set(outcomes) <= {204, 409}, outcomes
    assert outcomes[204] >= 1
    async with app.state.deps.db.read() as s:
        tags = (await s.exec(select(ImageTag).where(ImageTag.value == "same"))).all()
        members = (await s.exec(select(ImageMember).where(ImageMember.image_id == i))).all()
        added = (
            await s.exec(
                select(ImageEvent).where(ImageEvent.image_id == i, ImageEvent.action == "add_tag")
            )
        ).all()
    assert (len(tags), len(members), len(added)) == (1, 2, 1)


async def test_simultaneous_metadef_creates(http: httpx.AsyncClient, settings: Settings) -> None:
    a = admin(settings)

    async def post(url: str, body: Any) -> int:
        return (await http.post(url, json=body, headers=a)).status_code

    async def ten(url: str, body: Any) -> Counter[int]:
        return Counter(await asyncio.gather(*[post(url, body) for _ in range(10)]))

    assert await ten("/v2/metadefs/namespaces", {"namespace": "race"}) == {201: 1, 409: 9}
    base = "/v2/metadefs/namespaces/race"
    assert await ten(f"{base}/objects", {"name": "o"}) == {201: 1, 409: 9}
    prop = {"name": "p", "title": "P", "type": "string"}
    assert await ten(f"{base}/properties", prop) == {201: 1, 409: 9}
    assert await ten(f"{base}/tags/t", None) == {201: 1, 409: 9}
    assoc = {"name": "OS::Race::Thing"}
    assert await ten(f"{base}/resource_types", assoc) == {201: 1, 409: 9}
    q = 'mutation { createMetadefNamespace(input: {namespace: "race-gql"}) { namespace } }'
    bodies = await asyncio.gather(*[gql_data(http, a, q) for _ in range(10)])
    assert Counter(gql_code(b) for b in bodies) == {None: 1, "CONFLICT": 9}


async def test_simultaneous_user_adds(app: Starlette) -> None:
    deps = app.state.deps

    async def add() -> str:
        try:
            await accounts.add_user(deps, "twin", "long enough", project="P1", roles=["reader"])
        except Conflict:
            return "conflict"
        return "ok"

    assert Counter(await asyncio.gather(*[add() for _ in range(10)])) == {"ok": 1, "conflict": 9}
