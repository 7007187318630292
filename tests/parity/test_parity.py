"""The same scenarios through REST (Glance /v2) and GraphQL reach the same state and fail with
the same neutral error codes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from tests.conftest import token
from tests.parity.clients import ApiError, GraphQLApi, ImageApi, RestApi

KINDS = {"rest": RestApi, "graphql": GraphQLApi}


@pytest.fixture(params=list(KINDS))
def client(request: pytest.FixtureRequest, http: httpx.AsyncClient, settings: Settings) -> Any:
    return KINDS[request.param](http, settings)


async def lifecycle(c: ImageApi) -> dict[str, Any] | None:
    image_id = await c.create(
        {"name": "web", "disk_format": "qcow2", "container_format": "bare", "min_ram": 512,
         "tags": ["a", "b"], "properties": {"os_distro": "ubuntu", "tmp": "x"}}
    )  # fmt: skip
    await c.update(image_id, {"name": "web2", "os_hidden": True, "visibility": "community"},
                   {"os_version": "24.04", "os_distro": "debian"}, ["tmp"])  # fmt: skip
    await c.add_tag(image_id, "c")
    await c.add_tag(image_id, "c")
    await c.remove_tag(image_id, "a")
    return await c.get(image_id)


EXPECTED = {
    "name": "web2", "visibility": "community", "protected": False, "os_hidden": True,
    "min_disk": 0, "min_ram": 512, "disk_format": "qcow2", "container_format": "bare",
    "owner": "P1", "status": "queued", "tags": ["b", "c"],
    "properties": {"os_distro": "debian", "os_version": "24.04"},
}  # fmt: skip


async def test_lifecycle_state(client: ImageApi) -> None:
    assert await lifecycle(client) == EXPECTED


async def test_both_apis_agree_on_one_database(http: httpx.AsyncClient, settings: Settings) -> None:
    rest, gql = RestApi(http, settings), GraphQLApi(http, settings)
    via_rest, via_gql = await lifecycle(rest), await lifecycle(gql)
    assert via_rest == via_gql
    # and each API reads what the other wrote
    rest_id = await rest.create({"name": "cross", "properties": {"k": "v"}, "tags": ["t"]})
    assert await gql.get(rest_id) == await rest.get(rest_id)
    gql_id = await gql.create({"name": "cross2", "properties": {"k": "v"}})
    assert await rest.get(gql_id) == await gql.get(gql_id)


async def _error(call: Any) -> str:
    with pytest.raises(ApiError) as err:
        await call
    return err.value.code


async def test_error_codes(client: ImageApi) -> None:
    mine = await client.create({"name": "m", "protected": True})
    theirs = await client.create({"name": "t", "visibility": "private"}, who="P2")
    assert await _error(client.update(mine, {}, {}, ["absent"])) == "CONFLICT"
    assert await _error(client.update(mine, {"min_ram": -1}, {}, [])) == "INVALID_INPUT"
    assert await _error(client.update(theirs, {"name": "x"}, {}, [])) == "NOT_FOUND"
    assert await _error(client.create({"visibility": "public"})) == "FORBIDDEN"
    assert await _error(client.create({"owner": "P2"})) == "FORBIDDEN"
    assert await _error(client.create({"properties": {"os_glance_x": "1"}})) == "FORBIDDEN"
    assert await _error(client.delete(mine)) == "FORBIDDEN"
    assert await _error(client.remove_tag(mine, "nope")) == "NOT_FOUND"
    assert await client.get(theirs) is None
    await client.update(mine, {"protected": False}, {}, [])
    await client.delete(mine)
    assert await client.get(mine) is None


async def test_list_filters(client: ImageApi) -> None:
    await client.create({"name": "alpha", "disk_format": "raw", "tags": ["x", "y"],
                         "properties": {"os_distro": "ubuntu"}})  # fmt: skip
    await client.create({"name": "beta", "disk_format": "qcow2", "tags": ["x"], "protected": True,
                         "properties": {"os_distro": "ubuntu-lts"}})  # fmt: skip
    await client.create({"name": "gamma", "os_hidden": True, "properties": {"note": "hello"}})
    await client.create({"name": "delta", "visibility": "community"}, who="P2")
    shared = await client.create({"name": "shared"}, who="P3")
    await client.share(shared, "P1", who="P3")
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, ["alpha", "beta"]),
        ({"name": "alpha"}, ["alpha"]),
        ({"name_contains": "ta"}, ["beta"]),
        ({"tags": ["x"]}, ["alpha", "beta"]),
        ({"tags": ["x", "y"]}, ["alpha"]),
        ({"property_eq": {"os_distro": "ubuntu"}}, ["alpha"]),
        ({"property_contains": {"os_distro": "ubuntu"}}, ["alpha", "beta"]),
        ({"disk_format": "qcow2"}, ["beta"]),
        ({"protected": True}, ["beta"]),
        ({"os_hidden": True}, ["gamma"]),
        ({"visibility": "community"}, ["delta"]),
        ({"visibility": "all"}, ["alpha", "beta", "delta"]),
        ({"member_status": "pending"}, ["alpha", "beta", "shared"]),
    ]
    wrong = [(f, want, got) for f, want in cases if (got := await client.names(f)) != want]
    assert wrong == []
    await client.answer(shared, "accepted", who="P1")
    assert await client.names({}) == ["alpha", "beta", "shared"]


async def test_deactivate_and_reactivate(client: ImageApi, http: httpx.AsyncClient,
                                         settings: Settings) -> None:  # fmt: skip
    image_id = await client.create({"name": "d", "disk_format": "raw", "container_format": "bare"})
    assert await _error(client.set_active(image_id, False)) == "FORBIDDEN"  # queued
    upload = await http.put(
        f"/v2/images/{image_id}/file",
        content=b"data",
        headers={"Content-Type": "application/octet-stream",
                 "X-Auth-Token": token(settings, "P1", "member")},
    )  # fmt: skip
    assert upload.status_code == 204
    await client.set_active(image_id, False)
    assert (await client.get(image_id) or {})["status"] == "deactivated"
    await client.set_active(image_id, False)  # idempotent
    assert await _error(client.set_active(image_id, True, who="P2")) == "NOT_FOUND"
    await client.set_active(image_id, True)
    assert (await client.get(image_id) or {})["status"] == "active"
