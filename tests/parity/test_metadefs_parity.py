"""Metadefs through both APIs: what one writes the other reads, and both refuse alike."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from tests.conftest import token

CREATE = """mutation($input: CreateMetadefNamespaceInput!) {
  createMetadefNamespace(input: $input) { namespace } }"""
READ = """query($ns: String!) { metadefNamespace(namespace: $ns) {
  namespace displayName visibility protected owner
  properties { name definition } tags { name } } }"""


def _h(settings: Settings, project: str, *roles: str) -> dict[str, str]:
    return {"X-Auth-Token": token(settings, project, *roles)}


async def _gql(http: httpx.AsyncClient, h: dict[str, str], query: str, **variables: Any) -> Any:
    r = await http.post("/graphql", json={"query": query, "variables": variables}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


async def _create_rest(http: httpx.AsyncClient, h: dict[str, str], ns: str) -> None:
    body = {
        "namespace": ns,
        "display_name": "Parity",
        "visibility": "private",
        "properties": {"hw_x": {"title": "X", "type": "integer", "minimum": 1}},
        "tags": [{"name": "t1"}],
    }
    r = await http.post("/v2/metadefs/namespaces", json=body, headers=h)
    assert r.status_code == 201, r.text


async def _create_gql(http: httpx.AsyncClient, h: dict[str, str], ns: str) -> None:
    inp = {
        "namespace": ns,
        "displayName": "Parity",
        "visibility": "PRIVATE",
        "properties": [
            {"name": "hw_x", "definition": {"title": "X", "type": "integer", "minimum": 1}}
        ],
        "tags": ["t1"],
    }
    out = await _gql(http, h, CREATE, input=inp)
    assert "errors" not in out, out


async def _read_rest(http: httpx.AsyncClient, h: dict[str, str], ns: str) -> dict[str, Any]:
    r = await http.get(f"/v2/metadefs/namespaces/{ns}", headers=h)
    assert r.status_code == 200, r.text
    b = r.json()
    return {
        "display": b["display_name"],
        "visibility": b["visibility"],
        "owner": b["owner"],
        "properties": {k: v["minimum"] for k, v in b["properties"].items()},
        "tags": [t["name"] for t in b.get("tags", [])],
    }


async def _read_gql(http: httpx.AsyncClient, h: dict[str, str], ns: str) -> dict[str, Any]:
    b = (await _gql(http, h, READ, ns=ns))["data"]["metadefNamespace"]
    return {
        "display": b["displayName"],
        "visibility": b["visibility"].lower(),
        "owner": b["owner"],
        "properties": {p["name"]: p["definition"]["minimum"] for p in b["properties"]},
        "tags": [t["name"] for t in b["tags"]],
    }


@pytest.mark.parametrize(("writer", "reader"), [("rest", "graphql"), ("graphql", "rest")])
async def test_written_by_one_api_read_by_the_other(
    http: httpx.AsyncClient, settings: Settings, writer: str, reader: str
) -> None:
    admin = _h(settings, "admin", "admin", "member", "reader")
    ns = f"OS::Parity::{writer}"
    await (_create_rest if writer == "rest" else _create_gql)(http, admin, ns)
    read = await (_read_rest if reader == "rest" else _read_gql)(http, admin, ns)
    assert read == {
        "display": "Parity",
        "visibility": "private",
        "owner": "admin",
        "properties": {"hw_x": 1},
        "tags": ["t1"],
    }


async def test_both_apis_refuse_alike(http: httpx.AsyncClient, settings: Settings) -> None:
    admin = _h(settings, "admin", "admin", "member", "reader")
    member = _h(settings, "P1", "member", "reader")
    await _create_rest(http, admin, "OS::Parity::Private")
    # Another project's private namespace does not exist for the caller, in both APIs.
    r = await http.get("/v2/metadefs/namespaces/OS::Parity::Private", headers=member)
    assert r.status_code == 404
    assert (await _gql(http, member, READ, ns="OS::Parity::Private"))["data"] == {
        "metadefNamespace": None
    }
    # Writes are admin-only by default: 403 and FORBIDDEN.
    r = await http.post("/v2/metadefs/namespaces", json={"namespace": "OS::Mine"}, headers=member)
    assert r.status_code == 403
    out = await _gql(http, member, CREATE, input={"namespace": "OS::Mine"})
    assert out["errors"][0]["extensions"]["code"] == "FORBIDDEN"
