"""Hostile input at the GraphQL wire, on SQLite and PostgreSQL: garbage cursors, integers
past 64 bits (the BigInt scalar), NUL and lone surrogates, deep JSON, deep and long
documents, bodies that are not JSON. Always a 4xx or an error with a code, never a masked
internal error, and nothing created."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from tests.conftest import token
from tests.graphql.conftest import GQL

LIST = "query($after: String) { images(first: 2, after: $after) { edges { cursor } } }"
NS_LIST = (
    "query($after: String) { metadefNamespaces(first: 2, after: $after) { edges { cursor } } }"
)
CREATE = "mutation($input: CreateImageInput!) { createImage(input: $input) { id } }"
SIZE = "query($n: BigInt) { images(filter: {size: {gt: $n}}) { edges { cursor } } }"


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


GARBAGE_CURSORS = [
    _cursor('[[1, [2, [3]]], {"a": {"b": 1}}]'),
    _cursor('[{"t": "not a time"}, "x"]'),
    _cursor('[{"t": 5}]'),
    _cursor("[99999999999999999999999999, 1]"),
    _cursor('["a\\u0000b", "c"]'),
    _cursor("[" * 900 + "]" * 900),
    _cursor('{"not": "a list"}'),
    _cursor("not json at all"),
    "%%%not-base64%%%",
    "A" * 5000,
    "",
]


@pytest.fixture
def headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(settings, 'P1')}", "Accept": GQL}


async def _post(
    http: httpx.AsyncClient, headers: dict[str, str], query: str, **variables: Any
) -> tuple[int, dict[str, Any]]:
    r = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    return r.status_code, r.json()


def _codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


@pytest.mark.parametrize("cursor", GARBAGE_CURSORS)
async def test_garbage_cursors_are_invalid_input(
    http: httpx.AsyncClient, headers: dict[str, str], cursor: str
) -> None:
    await _post(http, headers, CREATE, input={"name": "one"})
    await _post(http, headers, CREATE, input={"name": "two"})
    for query in (LIST, NS_LIST):
        status, body = await _post(http, headers, query, after=cursor)
        if cursor == "":
            assert "errors" not in body  # an empty cursor is the first page
            continue
        assert status == 200, body
        assert _codes(body) == ["INVALID_INPUT"], body


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (str(2**63), "64 bits"),
        ("1" * 30, "decimal"),
        ("1e3", "decimal"),
        (1.5, "whole"),
        (True, "boolean"),
        ([1], "integer"),
    ],
)
async def test_bigint_variables_out_of_range_are_refused(
    http: httpx.AsyncClient, headers: dict[str, str], value: Any, message: str
) -> None:
    status, body = await _post(http, headers, SIZE, n=value)
    assert status == 400, body
    assert _codes(body) == ["BAD_USER_INPUT"]
    assert message in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "literal", ["99999999999999999999999", "-9223372036854775809", "1.5", '"12x"']
)
async def test_bigint_literals_out_of_range_are_refused(
    http: httpx.AsyncClient, headers: dict[str, str], literal: str
) -> None:
    query = "{ images(filter: {size: {gt: " + literal + "}}) { edges { cursor } } }"
    status, body = await _post(http, headers, query)
    assert status == 400, body
    assert _codes(body) == ["BAD_USER_INPUT"]


async def test_bigint_bounds_are_accepted(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for n in (2**63 - 1, -(2**63), str(2**63 - 1), 0):
        status, body = await _post(http, headers, SIZE, n=n)
        assert (status, body) == (200, {"data": {"images": {"edges": []}}})


async def _count(http: httpx.AsyncClient, headers: dict[str, str]) -> int:
    _, body = await _post(http, headers, "{ images(first: 100) { edges { cursor } } }")
    return len(body["data"]["images"]["edges"])


@pytest.mark.parametrize(
    "raw_input",
    [
        b'{"name": "a\\ud800b"}',
        b'{"name": "a\\u0000b"}',
        b'{"name": "x", "tags": ["t\\u0000"]}',
        b'{"name": "x", "properties": [{"key": "k\\udc00", "value": "v"}]}',
        b'{"name": "x", "minDisk": 99999999999999999999999}',
        b"[" * 3000 + b"]" * 3000,
    ],
    ids=["surrogate", "nul", "nul-tag", "surrogate-key", "huge-int", "deep"],
)
async def test_hostile_variables_create_nothing(
    http: httpx.AsyncClient, headers: dict[str, str], raw_input: bytes
) -> None:
    query = json.dumps(CREATE).encode()
    body = b'{"query": ' + query + b', "variables": {"input": ' + raw_input + b"}}"
    r = await http.post(
        "/graphql", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert _codes(r.json()) == ["BAD_REQUEST"]
    assert await _count(http, headers) == 0


async def test_nul_in_string_literals_is_refused(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    status, body = await _post(
        http, headers, 'mutation { createImage(input: {name: "a\\u0000b"}) { id } }'
    )
    assert status == 400
    assert _codes(body) == ["BAD_USER_INPUT"]
    status, body = await _post(
        http, headers, 'mutation { createImage(input: {name: "a\\ud800"}) { id } }'
    )
    assert status == 400
    assert _codes(body) == ["GRAPHQL_VALIDATION_FAILED"]  # a syntax error: not Unicode
    assert await _count(http, headers) == 0


async def test_deep_and_long_documents_are_refused_before_parsing(
    http: httpx.AsyncClient, headers: dict[str, str], settings: Settings
) -> None:
    deep = "{ images { " + "a { " * 3000 + "b" + " }" * 3000 + " } }"
    status, body = await _post(http, headers, deep)
    assert (status, _codes(body)) == (400, ["QUERY_TOO_DEEP"])
    long = "{ " + "__typename " * (settings.graphql.max_query_bytes // 10) + "}"
    status, body = await _post(http, headers, long)
    assert (status, _codes(body)) == (413, ["QUERY_TOO_LARGE"])
    many = "{ " + "__typename " * (settings.graphql.max_tokens + 10) + "}"
    status, body = await _post(http, headers, many)
    assert status == 400
    assert "tokens" in body["errors"][0]["message"]
    deep_args = (
        "{ images(filter: " + "{and: [" * 200 + "{}" + "]}" * 200 + ") { edges { cursor } } }"
    )
    status, body = await _post(http, headers, deep_args)
    assert (status, _codes(body)) == (400, ["QUERY_TOO_DEEP"])


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_non_json_bodies_are_415(
    http: httpx.AsyncClient, headers: dict[str, str], ctype: str
) -> None:
    body = json.dumps({"query": CREATE, "variables": {"input": {"name": "x"}}})
    r = await http.post("/graphql", content=body, headers={**headers, "Content-Type": ctype})
    assert r.status_code == 415
    assert await _count(http, headers) == 0


async def test_malformed_entity_representations_are_invalid_input(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """Found by the GraphQL fuzzer: an unknown ``__typename``, a missing key or an extra
    field failed inside the entity dispatch as masked internal errors."""
    reps = [
        {"__typename": "Nope", "id": "x"},
        {"__typename": "Task"},
        {"__typename": "Image", "id": 5},
        {"id": "x"},
        {"__typename": "Image", "id": "00000000-0000-4000-8000-000000000000", "extra": 1},
    ]
    query = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
    status, body = await _post(http, headers, query, r=reps[:3] + reps[4:5])
    assert status == 200
    assert body["data"]["_entities"] == [None] * 4
    assert _codes(body) == ["INVALID_INPUT"] * 3  # the extra field is dropped: just not found
    status, body = await _post(http, headers, query, r=[reps[3]])
    assert _codes(body) == ["INVALID_INPUT"]
    nul = '{__typename: "MetadefNamespace", namespace: "a\\u0000"}'
    status, body = await _post(
        http, headers, "{ _entities(representations: [" + nul + "]) { __typename } }"
    )
    assert status == 400  # NUL in a literal: refused before execution
