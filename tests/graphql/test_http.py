"""GraphQL over HTTP details beyond the graphql-http audits: our choices for content
negotiation, methods and malformed requests (in-process, SQLite)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.graphql.conftest import GQL


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GQL, GQL),
        (f"application/json, {GQL}", GQL),
        (f"application/json;q=1, {GQL};q=0.5", "application/json"),
        (f"{GQL};q=0, application/*", "application/json"),
    ],
)
async def test_accept_picks_the_response_type(
    http: httpx.AsyncClient, accept: str | None, expected: str
) -> None:
    headers = {"accept": accept} if accept else {}
    r = await http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == f"{expected}; charset=utf-8"
    assert r.json() == {"data": {"__typename": "Query"}}


async def test_unacceptable_accept_is_406(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": "text/xml"}
    )
    assert r.status_code == 406


async def test_methods(http: httpx.AsyncClient) -> None:
    r = await http.put("/graphql", json={"query": "{ __typename }"})
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    r = await http.get("/graphql", params={"query": "mutation { __typename }"})
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    r = await http.get("/graphql", params={"query": "{ __typename }"})
    assert r.json() == {"data": {"__typename": "Query"}}


async def test_graphiql_for_browsers_only(http: httpx.AsyncClient) -> None:
    r = await http.get("/graphql", headers={"accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 200
    assert "graphiql" in r.text.lower()
    r = await http.get("/graphql", headers={"accept": "application/json"})
    assert r.status_code == 400  # no query


@pytest.mark.parametrize(
    ("content", "ctype", "status"),
    [
        (b'{"query": "{ __typename }"}', "text/plain", 415),
        (b'{"query": "{ __typename }"}', None, 415),
        (b"", "application/json", 400),
        (b"{", "application/json", 400),
        (b'[{"query": "{ __typename }"}]', "application/json", 400),
        (b'{"query": 1}', "application/json", 400),
        (b'{"query": "{ __typename }", "variables": "x"}', "application/json", 400),
        (b'{"query": "{ __typename }", "operationName": 3}', "application/json", 400),
        (b'{"query": "query A { __typename }", "operationName": "B"}', "application/json", 400),
    ],
)
async def test_malformed_requests(
    http: httpx.AsyncClient, content: bytes, ctype: str | None, status: int
) -> None:
    headers = {"accept": GQL}
    if ctype:
        headers["content-type"] = ctype
    r = await http.post("/graphql", content=content, headers=headers)
    assert r.status_code == status
    body = r.json()
    assert "data" not in body
    assert body["errors"][0]["message"]


async def test_get_with_bad_variables_json(http: httpx.AsyncClient) -> None:
    r = await http.get("/graphql", params={"query": "{ __typename }", "variables": "{x"})
    assert r.status_code == 400


async def test_request_errors_have_no_data_but_field_errors_do(http: httpx.AsyncClient) -> None:
    headers = {"accept": GQL}
    coercion = {"query": "query($n: Int!) { images(first: $n) { totalCount } }", "variables": {}}
    r = await http.post("/graphql", json=coercion, headers=headers)
    assert r.status_code == 400
    assert "data" not in r.json()
    # a field error (no credentials) is execution: 200 with data, even if it is null
    r = await http.post("/graphql", json={"query": "{ images { totalCount } }"}, headers=headers)
    assert r.status_code == 200
    assert r.json()["data"] is None
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # the same under application/json stays 200 and keeps "data": null for request errors
    r = await http.post(
        "/graphql", content=json.dumps(coercion), headers={"content-type": "application/json"}
    )
    assert r.status_code == 200
    assert r.json()["data"] is None


async def test_response_is_utf8(http: httpx.AsyncClient) -> None:
    q = '{ __type(name: "Run🏃Swim🏊") { name } __typename }'
    r = await http.post("/graphql", json={"query": q})
    assert r.json() == {"data": {"__type": None, "__typename": "Query"}}
    assert "charset=utf-8" in r.headers["content-type"]
