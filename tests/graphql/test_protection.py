"""Protection of /graphql: depth, aliases, cost budget, page size, introspection switch,
persisted queries, error masking with a request id, and ftv1 tracing behind its setting.

These run on SQLite only: they test the GraphQL edge, not the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from glimpse.core.config import GraphQLSettings, Settings
from tests.conftest import make_settings, token
from tests.graphql.conftest import GQL, Client, make_image

REGISTERED = "query Names { images(first: 5) { edges { node { name } } } }"
REGISTERED_HASH = hashlib.sha256(REGISTERED.encode()).hexdigest()


def _graphql(tmp_path: Path, **overrides: Any) -> GraphQLSettings:
    manifest = tmp_path / "persisted.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {"id": REGISTERED_HASH, "body": REGISTERED, "name": "Names", "type": "query"}
                ],
            }
        )
    )
    return replace(GraphQLSettings(), persisted_queries_file=str(manifest), **overrides)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def settings(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> Settings:
    marker = request.node.get_closest_marker("graphql_settings")
    overrides = marker.kwargs if marker else {}
    return make_settings(
        tmp_path / "data", database_url, graphql=_graphql(tmp_path, **overrides), page_max=200
    )


# ------------------------------------------------------------------ depth, aliases, cost


@pytest.mark.graphql_settings(max_depth=3)
async def test_too_deep_query_is_refused(as_member: Client) -> None:
    assert (await as_member.post("{ images { edges { node { id } } } }")).status_code == 200
    r = await as_member.post("{ images { edges { node { members { memberId } } } } }")
    assert r.status_code == 400
    body = r.json()
    assert "data" not in body
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.graphql_settings(max_aliases=3)
async def test_too_many_aliases_are_refused(as_member: Client) -> None:
    ok = await as_member.post("{ a: __typename b: __typename c: __typename }")
    assert ok.status_code == 200
    r = await as_member.post("{ a: __typename b: __typename c: __typename d: __typename }")
    assert r.status_code == 400
    assert "aliases" in r.json()["errors"][0]["message"]


@pytest.mark.graphql_settings(max_cost=1000)
async def test_cost_budget_counts_page_sizes(as_member: Client) -> None:
    q = "query($n: Int) { images(first: $n) { edges { node { id name tags } } } }"
    assert (await as_member.post(q, {"n": 100})).status_code == 200  # 1 + 1 + 100 * 4
    r = await as_member.post(q, {"n": 200})
    assert r.status_code == 400
    err = r.json()["errors"][0]
    assert err["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    assert err["extensions"]["maxCost"] == 1000
    assert err["extensions"]["cost"] > 1000
    assert "budget of 1000" in err["message"]


@pytest.mark.graphql_settings(max_cost=1000)
async def test_cost_multiplies_nested_lists_and_defaults(as_member: Client) -> None:
    # default page 25 x events default 50 x 2 fields: far over budget without any argument
    q = "{ images { edges { node { events { id action } } } } }"
    r = await as_member.post(q)
    assert r.json()["errors"][0]["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    # fragments are priced like inline selections
    frag = "{ images(first: 150) { ...F } } fragment F on ImageConnection { nodes { ...N } }"
    frag += " fragment N on Image { id name tags properties { key value } }"
    err = (await as_member.post(frag)).json()["errors"][0]
    assert err["extensions"]["cost"] == 1 + 150 * (1 + 6)


ENTITIES = (
    "query($r: [_Any!]!) { _entities(representations: $r) { __typename "
    "... on Image { events(first: 100) { action } tasks { id } } "
    "... on MetadefNamespace { namespace } } }"
)


@pytest.mark.graphql_settings(max_cost=20_000)
async def test_entities_are_priced_per_representation(as_member: Client) -> None:
    """Finding 11: ``_entities`` under the ``_Entity`` union cost 1 whatever it asked for;
    3000 representations each asking for events and tasks were accepted."""
    images = [{"__typename": "Image", "id": str(uuid.uuid4())} for _ in range(3000)]
    r = await as_member.post(ENTITIES, {"r": images})
    err = r.json()["errors"][0]
    assert err["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    assert err["extensions"]["cost"] == 1 + 3000 * (1 + 1 + 100 * 1 + 1 + 1)
    namespaces = [{"__typename": "MetadefNamespace", "namespace": f"N{i}"} for i in range(3000)]
    cheap = (await as_member.post(ENTITIES, {"r": namespaces})).json()
    assert "COST_LIMIT_EXCEEDED" not in str(cheap)  # 1 + 3000 * 2: a namespace asks for one field
    few = [*images[:10], *namespaces[:10]]
    body = (await as_member.post(ENTITIES, {"r": few})).json()
    assert "errors" not in body, body
    reps = ", ".join('{__typename: "Image", id: "x"}' for _ in range(400))
    literal = (
        "{ _entities(representations: [" + reps + "]) { ... on Image { events { action } } } }"
    )
    err = (await as_member.post(literal)).json()["errors"][0]
    assert err["extensions"]["cost"] == 1 + 400 * (1 + 50)


async def test_page_size_is_capped(as_member: Client) -> None:
    r = await as_member.post("{ images(first: 201) { edges { cursor } } }")
    body = r.json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "between 0 and 200" in body["errors"][0]["message"]


# ------------------------------------------------------------------ introspection


INTROSPECT = "{ __schema { queryType { name } } }"


async def test_introspection_on_by_default(anonymous: Client) -> None:
    r = await anonymous.post(INTROSPECT)
    assert r.json()["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.graphql_settings(introspection=False)
async def test_introspection_can_be_switched_off(anonymous: Client) -> None:
    r = await anonymous.post(INTROSPECT)
    assert r.status_code == 400
    assert "introspection" in r.json()["errors"][0]["message"].lower()
    # gateways still get the SDL, and __typename still works
    sdl = (await anonymous.post("{ _service { sdl } __typename }")).json()["data"]
    assert "type Image" in sdl["_service"]["sdl"]


# ------------------------------------------------------------------ persisted queries


def _pq(h: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": h}}


async def test_registered_hash_runs_without_the_query(as_member: Client) -> None:
    await make_image(as_member, name="reg")
    body = {"extensions": _pq(REGISTERED_HASH)}
    r = await as_member.http.post(
        "/graphql", json=body, headers={"authorization": f"Bearer {as_member.bearer}"}
    )
    assert r.json()["data"]["images"]["edges"] == [{"node": {"name": "reg"}}]


async def test_automatic_persisted_query_round_trip(as_member: Client) -> None:
    q = "{ images { edges { node { id } } } }"
    h = hashlib.sha256(q.encode()).hexdigest()
    headers = {"authorization": f"Bearer {as_member.bearer}"}
    miss = await as_member.http.post("/graphql", json={"extensions": _pq(h)}, headers=headers)
    assert miss.status_code == 200  # application/json: Apollo clients expect 200 here
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    reg = await as_member.http.post(
        "/graphql", json={"query": q, "extensions": _pq(h)}, headers=headers
    )
    assert reg.json() == {"data": {"images": {"edges": []}}}
    hit = await as_member.http.get(
        "/graphql", params={"extensions": json.dumps(_pq(h))}, headers=headers
    )
    assert hit.json() == {"data": {"images": {"edges": []}}}


async def test_hash_mismatch_is_refused(as_member: Client) -> None:
    r = await as_member.post("{ __typename }", extensions=_pq("0" * 64))
    assert r.status_code == 400
    assert r.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"


@pytest.mark.graphql_settings(persisted_only=True)
async def test_persisted_only_locks_the_surface(as_member: Client) -> None:
    r = await as_member.post("{ __typename }")
    assert r.status_code == 400
    assert r.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    other = "{ images { totalCount } }"
    r = await as_member.post(other, extensions=_pq(hashlib.sha256(other.encode()).hexdigest()))
    assert r.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    ok = await as_member.post(REGISTERED, extensions=_pq(REGISTERED_HASH))
    assert ok.json() == {"data": {"images": {"edges": []}}}


# ------------------------------------------------------------------ masking, tracing


async def test_unexpected_errors_are_masked_with_the_request_id(
    as_member: Client, app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await make_image(as_member, name="x")
    async with app.state.deps.db.begin() as s:  # a broken database: not an expected failure
        await s.exec(text("DROP TABLE image_tags"))  # type: ignore[call-overload]
    with caplog.at_level(logging.ERROR, logger="glimpse.graphql"):
        r = await as_member.post("{ images { edges { node { name tags } } } }")
    rid = r.headers["x-openstack-request-id"]
    err = r.json()["errors"][0]
    assert err["message"] == f"Internal server error (request {rid})"
    assert err["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": rid}
    assert "image_tags" not in json.dumps(r.json())  # nothing of the cause leaks
    logged = [rec for rec in caplog.records if rid in rec.getMessage()]
    assert logged
    assert logged[0].exc_info is not None


async def test_no_ftv1_unless_enabled(as_member: Client) -> None:
    r = await as_member.http.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"apollo-federation-include-trace": "ftv1"},
    )
    assert "extensions" not in r.json()


@pytest.mark.graphql_settings(tracing=True)
async def test_ftv1_trace_when_enabled_and_asked(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    bearer = token(settings, "P1", "member", "reader")
    await make_image(Client(http, bearer), name="t", tags=["a"])
    headers = {"authorization": f"Bearer {bearer}", "accept": GQL}
    plain = await http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert "extensions" not in plain.json()
    r = await http.post(
        "/graphql",
        json={"query": "{ images { edges { node { name tags } } } }"},
        headers={**headers, "apollo-federation-include-trace": "ftv1"},
    )
    import base64

    trace = base64.b64decode(r.json()["extensions"]["ftv1"])
    assert b"tags" in trace
    assert b"images" in trace
