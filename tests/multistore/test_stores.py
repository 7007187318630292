"""Several named stores in one service: uploads pick a store, locations are recorded per
store, discovery and delete-from-store answer as Glance does (§1.6)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from glimpse.core.config import StoreConfig
from glimpse.core.errors import IntegrityError
from glimpse.resolvers import events, storage
from tests.multistore.conftest import Client, MakeClient

DATA = os.urandom(3 * 1024 * 1024 + 17)  # several S3 parts' worth is not needed: 3 MiB


def flip_byte(path: Path, offset: int) -> None:
    """Corrupt a file on purpose: same size, one byte different."""
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


async def blob_uri(client: Client, image_id: str, store: str) -> str:
    locs = await storage.locations_of(client.deps, image_id)
    return next(loc.url for loc in locs if loc.store == store)


async def test_uploads_pick_a_store_and_record_its_location(client: Client) -> None:
    default_id = await client.image_with_data(DATA)
    s3_id = await client.image_with_data(DATA, store="s3")
    h = client.auth()
    assert (await client.http.get(f"/v2/images/{default_id}", headers=h)).json()[
        "stores"
    ] == "local"
    assert (await client.http.get(f"/v2/images/{s3_id}", headers=h)).json()["stores"] == "s3"
    uri = await blob_uri(client, s3_id, "s3")
    assert uri.startswith("s3://glimpse-")
    assert await client.deps.stores.get("s3").stat(uri) == len(DATA)
    for image_id in (default_id, s3_id):
        r = await client.http.get(f"/v2/images/{image_id}/file", headers=h)
        assert r.status_code == 200
        assert r.content == DATA
    r = await client.http.get(
        f"/v2/images/{s3_id}/file", headers={**h, "Range": "bytes=1048570-1048580"}
    )
    assert r.status_code == 206
    assert r.content == DATA[1048570:1048581]


async def test_unknown_store_header_is_bad_request(client: Client) -> None:
    h = client.auth()
    r = await client.http.post(
        "/v2/images", json={"disk_format": "raw", "container_format": "bare"}, headers=h
    )
    image_id = r.json()["id"]
    r = await client.http.put(
        f"/v2/images/{image_id}/file",
        content=b"x",
        headers={**h, "Content-Type": "application/octet-stream", "X-Image-Meta-Store": "tape"},
    )
    assert r.status_code == 400
    assert (await client.http.get(f"/v2/images/{image_id}", headers=h)).json()["status"] == "queued"


async def test_info_stores_shapes(client: Client) -> None:
    r = await client.http.get("/v2/info/stores", headers=client.auth())
    assert r.status_code == 200
    assert r.json() == {
        "stores": [
            {"id": "local", "description": "Local disk", "default": "true"},
            {"id": "s3", "description": "Object storage"},
        ]
    }
    assert (
        await client.http.get("/v2/info/stores/detail", headers=client.auth())
    ).status_code == 403
    r = await client.http.get("/v2/info/stores/detail", headers=client.admin)
    assert r.status_code == 200
    local, s3 = r.json()["stores"]
    assert local["type"] == "file"
    assert local["weight"] == 0
    assert local["properties"]["path"].endswith("images")
    assert s3["type"] == "s3"
    assert "secret_key" not in s3["properties"]
    assert "access_key" not in s3["properties"]
    service = client.auth("svc", "service", "reader")
    assert (await client.http.get("/v2/info/stores/detail", headers=service)).status_code == 200


async def test_single_store_hides_the_store_api(client_factory: MakeClient, tmp_path: Path) -> None:
    base = (await client_factory()).settings
    single = replace(base, stores=base.stores[:1])
    client = await client_factory(single)
    image_id = await client.image_with_data(b"abc", store="anything")  # header ignored
    assert (
        "stores"
        not in (await client.http.get(f"/v2/images/{image_id}", headers=client.admin)).json()
    )
    for path in ("/v2/info/stores", "/v2/info/stores/detail"):
        assert (await client.http.get(path, headers=client.admin)).status_code == 404
    r = await client.http.delete(f"/v2/stores/local/{image_id}", headers=client.admin)
    assert r.status_code == 404
    ids = [v["id"] for v in (await client.http.get("/versions")).json()["versions"]]
    assert ids[0] == "v2.15"
    assert "v2.8" not in ids
    # Not an advertised version here, so not an alias of /v2 (Glance answers 300).
    assert (await client.http.get("/v2.8/images", headers=client.admin)).status_code != 200


async def test_versions_advertise_multi_store_family(client: Client) -> None:
    versions = (await client.http.get("/versions")).json()["versions"]
    ids = [v["id"] for v in versions]
    assert ids[:7] == ["v2.15", "v2.13", "v2.12", "v2.11", "v2.10", "v2.9", "v2.8"]
    assert versions[0]["status"] == "CURRENT"
    assert "v2.14" not in ids  # no cache configured
    assert (await client.http.get("/v2.13/images", headers=client.auth())).status_code == 200


async def test_delete_from_store_rules(client: Client) -> None:
    image_id = await client.image_with_data(DATA)
    await storage.copy_verified(client.deps, image_id, "local", "s3")
    h = client.auth()
    assert (await client.http.get(f"/v2/images/{image_id}", headers=h)).json()[
        "stores"
    ] == "local,s3"
    s3_uri = await blob_uri(client, image_id, "s3")

    assert (await client.http.delete(f"/v2/stores/s3/{image_id}", headers=h)).status_code == 403
    other = client.auth("P2")
    assert (await client.http.delete(f"/v2/stores/s3/{image_id}", headers=other)).status_code == 404
    r = await client.http.delete(f"/v2/stores/tape/{image_id}", headers=client.admin)
    assert r.status_code == 409
    missing = "00000000-0000-4000-8000-000000000000"
    assert (
        await client.http.delete(f"/v2/stores/s3/{missing}", headers=client.admin)
    ).status_code == 404
    r = await client.http.post(
        "/v2/images", json={"disk_format": "raw", "container_format": "bare"}, headers=h
    )
    queued = r.json()["id"]
    assert (
        await client.http.delete(f"/v2/stores/s3/{queued}", headers=client.admin)
    ).status_code == 409

    r = await client.http.delete(f"/v2/stores/s3/{image_id}", headers=client.admin)
    assert r.status_code == 204
    assert (await client.http.get(f"/v2/images/{image_id}", headers=h)).json()["stores"] == "local"
    assert await client.deps.stores.get("s3").stat(s3_uri) is None
    # Now the only copy: refused, whichever store is named.
    for store in ("local", "s3"):
        r = await client.http.delete(f"/v2/stores/{store}/{image_id}", headers=client.admin)
        assert r.status_code == 403
    r = await client.http.get(f"/v2/images/{image_id}/file", headers=h)
    assert r.content == DATA
    async with client.deps.db.read() as s:
        actions = [e.action for e in (await events.events_for(s, [image_id]))[image_id]]
    assert actions[:2] == ["delete_from_store", "copy_to_store"]


async def test_delete_from_store_where_the_image_is_not(
    client_factory: MakeClient, tmp_path: Path
) -> None:
    base = (await client_factory()).settings
    three = replace(base, stores=(*base.stores, StoreConfig(name="mem", type="memory")))
    client = await client_factory(three)
    image_id = await client.image_with_data(b"0123456789")
    await storage.copy_verified(client.deps, image_id, "local", "s3")
    r = await client.http.delete(f"/v2/stores/mem/{image_id}", headers=client.admin)
    assert r.status_code == 404


async def test_graphql_stores_and_delete_from_store(client: Client) -> None:
    image_id = await client.image_with_data(b"graphql bytes", store="s3")
    await storage.copy_verified(client.deps, image_id, "s3", "local")
    query = "{ stores { id description isDefault readOnly } }"
    r = await client.http.post("/graphql", json={"query": query}, headers=client.auth())
    assert r.json()["data"]["stores"] == [
        {"id": "local", "description": "Local disk", "isDefault": True, "readOnly": False},
        {"id": "s3", "description": "Object storage", "isDefault": False, "readOnly": False},
    ]
    mutation = 'mutation($id: ID!) { deleteImageFromStore(id: $id, store: "s3") { stores } }'
    body = {"query": mutation, "variables": {"id": image_id}}
    r = await client.http.post("/graphql", json=body, headers=client.auth())
    assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    r = await client.http.post("/graphql", json=body, headers=client.admin)
    assert r.json()["data"]["deleteImageFromStore"]["stores"] == ["local"]


async def test_copy_verified_refuses_corrupt_source(client: Client) -> None:
    image_id = await client.image_with_data(DATA)
    path = Path(
        client.deps.stores.get("local").local_path(await blob_uri(client, image_id, "local"))
    )
    flip_byte(path, 1000)
    with pytest.raises(IntegrityError):
        await storage.copy_verified(client.deps, image_id, "local", "s3")
    assert [loc.store for loc in await storage.locations_of(client.deps, image_id)] == ["local"]
    async with client.deps.db.read() as s:
        latest = (await events.events_for(s, [image_id]))[image_id][0]
    assert latest.action == "integrity_error"
    assert latest.changes["field"] == "checksum"
    assert latest.changes["where"] == "copy local->s3"
    s3 = client.deps.stores.get("s3")
    listing = await (await s3._s3()).list_objects_v2(Bucket=s3.bucket)
    assert listing.get("KeyCount", 0) == 0  # the bad copy was removed


async def test_copy_verified_is_idempotent(client: Client) -> None:
    image_id = await client.image_with_data(b"same")
    first = await storage.copy_verified(client.deps, image_id, "local", "s3")
    again = await storage.copy_verified(client.deps, image_id, "local", "s3")
    assert first.url == again.url
    assert len(await storage.locations_of(client.deps, image_id)) == 2


async def test_uploads_to_a_read_only_store_are_denied(client_factory: MakeClient) -> None:
    base = (await client_factory()).settings
    archive = StoreConfig(name="archive", type="memory", read_only=True)
    client = await client_factory(replace(base, stores=(*base.stores, archive)))
    h = client.auth()
    r = await client.http.post(
        "/v2/images", json={"disk_format": "raw", "container_format": "bare"}, headers=h
    )
    image_id = r.json()["id"]
    headers = {**h, "Content-Type": "application/octet-stream", "X-Image-Meta-Store": "archive"}
    r = await client.http.put(f"/v2/images/{image_id}/file", content=b"x", headers=headers)
    assert r.status_code == 503
    r = await client.http.get("/v2/info/stores", headers=h)
    assert r.json()["stores"][2] == {"id": "archive", "read-only": "true"}


async def test_downloads_read_from_the_heaviest_store(client_factory: MakeClient) -> None:
    base = (await client_factory()).settings
    local, s3 = base.stores
    client = await client_factory(replace(base, stores=(local, replace(s3, weight=10))))
    image_id = await client.image_with_data(DATA)
    await storage.copy_verified(client.deps, image_id, "local", "s3")
    local_path = client.deps.stores.get("local").local_path(
        await blob_uri(client, image_id, "local")
    )
    flip_byte(Path(local_path), 0)  # were the local copy read, the bytes would differ
    r = await client.http.get(f"/v2/images/{image_id}/file", headers=client.auth())
    assert r.content == DATA
