"""GraphQL wire format: the images connection (paging both ways, totalCount on demand,
every filter, sort) and mutations with their error codes. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import counting
from tests.graphql.conftest import Client, make_image

LIST = """
query($f: ImageFilter, $s: [ImageSort!], $first: Int, $after: String, $last: Int,
      $before: String) {
  images(filter: $f, sort: $s, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def names(client: Client, **variables: Any) -> list[str]:
    data = await client.data(LIST, variables)
    return [e["node"]["name"] for e in data["images"]["edges"]]


async def page(client: Client, **variables: Any) -> dict[str, Any]:
    data: dict[str, Any] = (await client.data(LIST, variables))["images"]
    return data


BY_NAME = [{"field": "NAME", "direction": "ASC"}]

# ------------------------------------------------------------------ paging


async def test_forward_and_backward_paging(as_member: Client) -> None:
    for i in range(7):
        await make_image(as_member, name=f"p{i}")
    first = await page(as_member, s=BY_NAME, first=3)
    assert [e["node"]["name"] for e in first["edges"]] == ["p0", "p1", "p2"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    second = await page(as_member, s=BY_NAME, first=3, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["name"] for e in second["edges"]] == ["p3", "p4", "p5"]
    assert second["pageInfo"]["hasPreviousPage"] is True
    third = await page(as_member, s=BY_NAME, first=3, after=second["pageInfo"]["endCursor"])
    assert [e["node"]["name"] for e in third["edges"]] == ["p6"]
    assert third["pageInfo"]["hasNextPage"] is False
    # and back again from the end
    back = await page(as_member, s=BY_NAME, last=3, before=third["pageInfo"]["startCursor"])
    assert [e["node"]["name"] for e in back["edges"]] == ["p3", "p4", "p5"]
    assert back["pageInfo"]["hasPreviousPage"] is True
    assert back["pageInfo"]["hasNextPage"] is True
    tail = await page(as_member, s=BY_NAME, last=2)
    assert [e["node"]["name"] for e in tail["edges"]] == ["p5", "p6"]
    start = await page(as_member, s=BY_NAME, last=5, before=back["pageInfo"]["startCursor"])
    assert [e["node"]["name"] for e in start["edges"]] == ["p0", "p1", "p2"]
    assert start["pageInfo"]["hasPreviousPage"] is False


async def test_paging_errors(as_member: Client) -> None:
    both = "{ images(first: 1, last: 1) { edges { cursor } } }"
    assert await as_member.error_code(both) == "INVALID_INPUT"
    bad = '{ images(after: "garbage") { edges { cursor } } }'
    assert await as_member.error_code(bad) == "INVALID_INPUT"
    assert await as_member.error_code("{ images(first: -1) { edges { cursor } } }") == (
        "INVALID_INPUT"
    )


async def test_total_count_only_when_asked(as_member: Client, app: Any) -> None:
    for i in range(3):
        await make_image(as_member, name=f"c{i}")
    with counting(app) as counter:
        data = await as_member.data("{ images(first: 2) { totalCount edges { cursor } } }")
    assert data["images"]["totalCount"] == 3
    assert sum("count(" in s.lower() for s in counter.statements) == 1
    with counting(app) as counter:
        await as_member.data("{ images(first: 2) { edges { cursor } } }")
    assert not any("count(" in s.lower() for s in counter.statements)


# ------------------------------------------------------------------ filters and sort


@dataclass
class Catalog:
    ids: dict[str, str]
    created: dict[str, str]
    checksum_a: str
    sha512_c: str


async def _upload(http: httpx.AsyncClient, bearer: str, image_id: str, data: bytes) -> None:
    r = await http.put(
        f"/v2/images/{image_id}/file",
        content=data,
        headers={"authorization": f"Bearer {bearer}", "content-type": "application/octet-stream"},
    )
    assert r.status_code == 204, r.text


@pytest.fixture
async def catalog(as_member: Client, as_admin: Client, http: httpx.AsyncClient) -> Catalog:
    """alpha (private, protected, raw, 10 bytes), beta (shared with P2, hidden, qcow2),
    gamma (raw, 1000 bytes), delta (P2's public image)."""
    fmt = {"diskFormat": "raw", "containerFormat": "bare"}
    a = await make_image(
        as_member,
        name="alpha",
        visibility="PRIVATE",
        protected=True,
        tags=["x", "y"],
        properties=[{"key": "os", "value": "linux"}, {"key": "ver", "value": "22.04"}],
        **fmt,
    )
    b = await make_image(
        as_member,
        name="beta",
        visibility="SHARED",
        osHidden=True,
        tags=["x"],
        diskFormat="qcow2",
        containerFormat="bare",
        properties=[{"key": "os", "value": "windows"}],
    )
    c = await make_image(
        as_member, name="gamma", properties=[{"key": "os", "value": "linux"}], **fmt
    )
    d = await make_image(
        as_admin, name="delta", visibility="PUBLIC", owner="P2", containerFormat="ovf"
    )
    await as_member.data(
        'mutation($id: ID!) { addImageMember(id: $id, member: "P2") { status } }', {"id": b}
    )
    await _upload(http, as_member.bearer or "", a, b"0123456789")
    await _upload(http, as_member.bearer or "", c, b"z" * 1000)
    ids = {"alpha": a, "beta": b, "gamma": c, "delta": d}
    created = {}
    for name, image_id in ids.items():
        q = "query($id: ID!) { image(id: $id) { createdAt } }"
        created[name] = (await as_member.data(q, {"id": image_id}))["image"]["createdAt"]
    return Catalog(
        ids,
        created,
        hashlib.md5(b"0123456789").hexdigest(),
        hashlib.sha512(b"z" * 1000).hexdigest(),
    )


FILTER_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("name eq", {"name": {"eq": "gamma"}}, ["gamma"]),
    ("name neq", {"name": {"neq": "gamma"}}, ["alpha", "delta"]),
    ("name in", {"name": {"in": ["alpha", "delta", "nope"]}}, ["alpha", "delta"]),
    ("name contains", {"name": {"contains": "mm"}}, ["gamma"]),
    ("status", {"status": ["ACTIVE"]}, ["alpha", "gamma"]),
    ("visibility private", {"visibility": "PRIVATE"}, ["alpha"]),
    ("visibility public", {"visibility": "PUBLIC"}, ["delta"]),
    ("visibility all", {"visibility": "ALL"}, ["alpha", "delta", "gamma"]),
    ("owner", {"owner": {"eq": "P2"}}, ["delta"]),
    ("tags all-of", {"tags": ["x", "y"]}, ["alpha"]),
    ("property eq", {"properties": [{"key": "os", "eq": "linux"}]}, ["alpha", "gamma"]),
    ("property in", {"properties": [{"key": "ver", "in": ["22.04", "24.04"]}]}, ["alpha"]),
    ("property contains", {"properties": [{"key": "os", "contains": "inu"}]}, ["alpha", "gamma"]),
    ("size gt", {"size": {"gt": 100}}, ["gamma"]),
    ("size lte", {"size": {"lte": "10"}}, ["alpha"]),
    ("size eq/neq", {"size": {"neq": 10, "eq": 1000}}, ["gamma"]),
    ("virtual size", {"virtualSize": {"gte": 1000, "lt": 5000}}, ["gamma"]),
    ("protected", {"protected": True}, ["alpha"]),
    ("hidden", {"osHidden": True}, ["beta"]),
    ("disk format", {"diskFormat": {"eq": "raw"}}, ["alpha", "gamma"]),
    ("container format", {"containerFormat": {"in": ["ovf"]}}, ["delta"]),
]


@pytest.mark.parametrize(("case", "f", "expected"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
async def test_filters(
    as_member: Client, catalog: Catalog, case: str, f: dict[str, Any], expected: list[str]
) -> None:
    assert sorted(await names(as_member, f=f)) == expected


async def test_filters_needing_catalog_values(as_member: Client, catalog: Catalog) -> None:
    assert await names(as_member, f={"id": {"eq": catalog.ids["gamma"]}}) == ["gamma"]
    assert await names(as_member, f={"checksum": catalog.checksum_a}) == ["alpha"]
    assert await names(as_member, f={"osHashValue": catalog.sha512_c}) == ["gamma"]
    after_beta = {"createdAt": {"gt": catalog.created["beta"]}}
    assert sorted(await names(as_member, f=after_beta)) == ["delta", "gamma"]
    at_alpha = {
        "createdAt": {"eq": catalog.created["alpha"]},
        "updatedAt": {"gte": "2000-01-01T00:00:00Z"},
    }
    assert await names(as_member, f=at_alpha) == ["alpha"]
    before = {"updatedAt": {"lt": "2000-01-01T00:00:00Z"}}
    assert await names(as_member, f=before) == []


async def test_member_status_filter(as_other: Client, catalog: Catalog) -> None:
    shared = {"visibility": "SHARED"}
    assert await names(as_other, f={**shared, "osHidden": True}) == []  # pending by default
    pending = {**shared, "memberStatus": "PENDING", "osHidden": True}
    assert await names(as_other, f=pending) == ["beta"]
    assert await names(as_other, f={**shared, "memberStatus": "ALL", "osHidden": True}) == ["beta"]


async def test_property_filter_needs_a_condition(as_member: Client) -> None:
    q = '{ images(filter: {properties: [{key: "os"}]}) { edges { cursor } } }'
    assert await as_member.error_code(q) == "INVALID_INPUT"


async def test_sort(as_member: Client, catalog: Catalog) -> None:
    assert await names(as_member, s=BY_NAME) == ["alpha", "delta", "gamma"]
    desc = [{"field": "NAME", "direction": "DESC"}]
    assert await names(as_member, s=desc) == ["gamma", "delta", "alpha"]
    by_size = [{"field": "SIZE", "direction": "DESC"}, {"field": "NAME", "direction": "ASC"}]
    got = await names(as_member, s=by_size, f={"status": ["ACTIVE"]})
    assert got == ["gamma", "alpha"]
    # default: newest first
    assert await names(as_member) == ["delta", "gamma", "alpha"]


# ------------------------------------------------------------------ mutations


async def test_mutation_round_trip(as_member: Client) -> None:
    image_id = await make_image(as_member, name="m", tags=["a"])
    upd = """mutation($id: ID!) { updateImage(id: $id, input: {name: "m2", minDisk: 5,
      setProperties: [{key: "k", value: "v"}], tags: ["b", "c"]}) { name minDisk tags
      propertiesJson } }"""
    got = (await as_member.data(upd, {"id": image_id}))["updateImage"]
    assert got == {"name": "m2", "minDisk": 5, "tags": ["b", "c"], "propertiesJson": {"k": "v"}}
    tag = 'mutation($id: ID!) { addImageTag(id: $id, tag: "d") { tags } }'
    assert (await as_member.data(tag, {"id": image_id}))["addImageTag"]["tags"] == ["b", "c", "d"]
    untag = 'mutation($id: ID!) { removeImageTag(id: $id, tag: "b") { tags } }'
    assert (await as_member.data(untag, {"id": image_id}))["removeImageTag"]["tags"] == ["c", "d"]
    setp = (
        'mutation($id: ID!) { setImageProperty(id: $id, key: "a", value: "1") '
        '{ property(key: "a") } }'
    )
    assert (await as_member.data(setp, {"id": image_id}))["setImageProperty"]["property"] == "1"
    rmp = 'mutation($id: ID!) { removeImageProperty(id: $id, key: "a") { propertiesJson } }'
    got = (await as_member.data(rmp, {"id": image_id}))["removeImageProperty"]
    assert got["propertiesJson"] == {"k": "v"}
    events = "query($id: ID!) { image(id: $id) { events { action } } }"
    actions = [
        e["action"] for e in (await as_member.data(events, {"id": image_id}))["image"]["events"]
    ]
    assert actions[-1] == "create"
    assert len(actions) >= 5
    dele = "mutation($id: ID!) { deleteImage(id: $id) { id deleted } }"
    assert (await as_member.data(dele, {"id": image_id}))["deleteImage"]["deleted"] is True
    assert (
        await as_member.data("query($id: ID!) { image(id: $id) { id } }", {"id": image_id})
    ) == {"image": None}


UNKNOWN = "00000000-0000-4000-8000-000000000000"


async def test_mutation_error_codes(
    as_member: Client, as_reader: Client, as_other: Client, anonymous: Client
) -> None:
    upd = 'mutation($id: ID!) { updateImage(id: $id, input: {name: "n"}) { id } }'
    assert await as_member.error_code(upd, {"id": UNKNOWN}) == "NOT_FOUND"
    mine = await make_image(as_member, name="mine", visibility="PRIVATE", protected=True)
    assert await as_other.error_code(upd, {"id": mine}) == "NOT_FOUND"  # invisible: not 403
    dele = "mutation($id: ID!) { deleteImage(id: $id) { id } }"
    assert await as_member.error_code(dele, {"id": mine}) == "FORBIDDEN"  # protected
    public = "mutation($id: ID!) { updateImage(id: $id, input: {visibility: PUBLIC}) { id } }"
    assert await as_member.error_code(public, {"id": mine}) == "FORBIDDEN"
    bad = "mutation($id: ID!) { updateImage(id: $id, input: {minDisk: -1}) { id } }"
    assert await as_member.error_code(bad, {"id": mine}) == "INVALID_INPUT"
    assert await as_member.error_code(upd, {"id": "not-a-uuid"}) in ("INVALID_INPUT", "NOT_FOUND")
    dup = "mutation($id: ID!) { createImage(input: {id: $id}) { id } }"
    assert await as_member.error_code(dup, {"id": mine}) == "CONFLICT"
    rmp = 'mutation($id: ID!) { removeImageProperty(id: $id, key: "absent") { id } }'
    assert await as_member.error_code(rmp, {"id": mine}) in ("CONFLICT", "NOT_FOUND")
    create = 'mutation { createImage(input: {name: "a"}) { id } }'
    assert await anonymous.error_code(create) == "UNAUTHENTICATED"
    assert await anonymous.error_code("{ images { edges { cursor } } }") == "UNAUTHENTICATED"
    assert await as_reader.error_code(create) == "FORBIDDEN"


async def test_bad_token_is_unauthenticated(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/graphql",
        json={"query": "{ images { edges { cursor } } }"},
        headers={"authorization": "Bearer not.a.token"},
    )
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert r.json()["data"] is None


async def test_bigint_sizes_beyond_32_bits(as_member: Client, catalog: Catalog) -> None:
    huge = {"size": {"lt": str(2**40)}}
    assert sorted(await names(as_member, f=huge)) == ["alpha", "gamma"]
