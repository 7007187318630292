"""Federation through Apollo's own tools: composition and a real gateway, both directions.

A live Glimpse (tracing on) and a small @apollo/subgraph "deployments" service that references
``Image`` and extends it with ``deployments`` are composed with @apollo/composition and
queried through @apollo/gateway (tests/js/gateway.mjs).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server, stop_server
from tests.graphql.node import node_or_skip, run_node

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def traced_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    node_or_skip()
    root = tmp_path_factory.mktemp("gateway")
    server = start_server(root / "data", env={"GLIMPSE_GRAPHQL_TRACING": "1"})
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(root, ignore_errors=True)


def _create(server: LiveServer, bearer: str, name: str, tags: list[str]) -> str:
    q = "mutation($i: CreateImageInput!) { createImage(input: $i) { id } }"
    r = httpx.post(
        f"{server.url}/graphql",
        json={"query": q, "variables": {"i": {"name": name, "tags": tags}}},
        headers={"authorization": f"Bearer {bearer}"},
    )
    image_id: str = r.json()["data"]["createImage"]["id"]
    return image_id


@pytest.fixture(scope="module")
def gateway_run(traced_server: LiveServer) -> dict[str, Any]:
    bearer = traced_server.token("P1", "member", "reader")
    a = _create(traced_server, bearer, "alpha", ["web"])
    b = _create(traced_server, bearer, "beta", ["db"])
    deployments = [
        {"id": "d1", "name": "shop", "imageId": a},
        {"id": "d2", "name": "shop-db", "imageId": b},
        {"id": "d3", "name": "shop-canary", "imageId": a},
        {"id": "d4", "name": "orphan", "imageId": UNKNOWN},
    ]
    [out] = run_node("gateway.mjs", f"{traced_server.url}/graphql", bearer, json.dumps(deployments))
    out["ids"] = {"alpha": a, "beta": b}
    return out


def test_composition_has_no_errors(gateway_run: dict[str, Any]) -> None:
    assert gateway_run["compositionErrors"] == []


def test_gateway_resolves_images_for_another_subgraph(gateway_run: dict[str, Any]) -> None:
    res = gateway_run["results"]["deploymentsToImages"]
    assert res["errors"] is None
    by_id = {d["id"]: d["image"] for d in res["data"]["deployments"]}
    assert by_id["d1"]["name"] == "alpha"
    assert by_id["d1"]["tags"] == ["web"]
    assert by_id["d2"]["name"] == "beta"
    assert by_id["d3"]["id"] == gateway_run["ids"]["alpha"]
    assert by_id["d4"] is None  # unknown image: the entity resolves to null


def test_gateway_extends_images_with_another_subgraph(gateway_run: dict[str, Any]) -> None:
    res = gateway_run["results"]["imagesToDeployments"]
    assert res["errors"] is None
    nodes = [e["node"] for e in res["data"]["images"]["edges"]]
    assert [n["name"] for n in nodes] == ["alpha", "beta"]
    assert sorted(d["name"] for d in nodes[0]["deployments"]) == ["shop", "shop-canary"]
    assert [d["name"] for d in nodes[1]["deployments"]] == ["shop-db"]


def test_shareable_value_type_resolves_from_both(gateway_run: dict[str, Any]) -> None:
    res = gateway_run["results"]["shareablePageInfo"]
    assert res["errors"] is None
    assert res["data"]["images"]["pageInfo"] == {"hasNextPage": True}


def test_subgraph_sends_ftv1_traces_to_the_gateway(gateway_run: dict[str, Any]) -> None:
    assert gateway_run["traced"] is True


def test_subgraph_sdl_carries_federation_directives(traced_server: LiveServer) -> None:
    sdl = httpx.post(f"{traced_server.url}/graphql", json={"query": "{ _service { sdl } }"}).json()[
        "data"
    ]["_service"]["sdl"]
    assert "requestId: String @inaccessible" in sdl
    assert '@tag(name: "public")' in sdl


def test_js_dir_exists() -> None:
    assert (Path(__file__).parent.parent / "js" / "package-lock.json").is_file()
