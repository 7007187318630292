"""Glance's ``hashing_algorithm``: new data gets the configured multihash, reported by both
APIs; copies and the cache verify data with the algorithm the image recorded, even after
the setting changed."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace

import pytest
from sqlalchemy import update

from glimpse.core.errors import IntegrityError
from glimpse.models.tables import Image
from glimpse.resolvers import events, storage
from tests.multistore.conftest import Client, MakeClient, cache_on

DATA = os.urandom(2 * 1024 * 1024 + 5)
GQL = "query($id: ID!) { image(id: $id) { checksum osHashAlgo osHashValue size } }"


async def with_algorithm(client_factory: MakeClient, algorithm: str, cache: bool = False) -> Client:
    base = (await client_factory()).settings
    custom = replace(base, hashing_algorithm=algorithm)
    return await client_factory(cache_on(custom) if cache else custom)


async def rest_and_graphql(client: Client, image_id: str) -> tuple[dict, dict]:
    rest = (await client.http.get(f"/v2/images/{image_id}", headers=client.auth())).json()
    r = await client.http.post(
        "/graphql", json={"query": GQL, "variables": {"id": image_id}}, headers=client.auth()
    )
    return rest, r.json()["data"]["image"]


@pytest.mark.parametrize("store", ["local", "s3"])
async def test_sha256_upload_is_stored_and_reported_by_both_apis(
    client_factory: MakeClient, store: str
) -> None:
    client = await with_algorithm(client_factory, "sha256")
    image_id = await client.image_with_data(DATA, store=store)
    rest, gql = await rest_and_graphql(client, image_id)
    sha256 = hashlib.sha256(DATA).hexdigest()
    assert (rest["os_hash_algo"], rest["os_hash_value"]) == ("sha256", sha256)
    assert (gql["osHashAlgo"], gql["osHashValue"]) == ("sha256", sha256)
    assert rest["checksum"] == gql["checksum"] == hashlib.md5(DATA).hexdigest()
    r = await client.http.get(f"/v2/images/{image_id}/file", headers=client.auth())
    assert r.status_code == 200
    assert r.content == DATA
    assert r.headers["content-md5"] == rest["checksum"]


async def test_default_stays_sha512(client: Client) -> None:
    image_id = await client.image_with_data(DATA)
    rest, gql = await rest_and_graphql(client, image_id)
    assert rest["os_hash_algo"] == gql["osHashAlgo"] == "sha512"
    assert rest["os_hash_value"] == hashlib.sha512(DATA).hexdigest()


async def test_copies_verify_and_keep_the_recorded_algorithm(client_factory: MakeClient) -> None:
    """Uploaded under sha256, copied and cached after the setting went back to sha512: the
    sha256 value is checked and kept, never replaced or wrongly reported as a mismatch."""
    old = await with_algorithm(client_factory, "sha256")
    image_id = await old.image_with_data(DATA)
    now = await with_algorithm(client_factory, "sha512", cache=True)
    await storage.copy_verified(now.deps, image_id, "local", "s3")
    assert sorted(loc.store for loc in await storage.locations_of(now.deps, image_id)) == [
        "local",
        "s3",
    ]
    rest, _ = await rest_and_graphql(now, image_id)
    assert (rest["os_hash_algo"], rest["os_hash_value"]) == (
        "sha256",
        hashlib.sha256(DATA).hexdigest(),
    )
    # The cache fills from S3 (the local copy gone) and verifies with sha256 too.
    r = await now.http.delete(f"/v2/stores/local/{image_id}", headers=now.admin)
    assert r.status_code == 204, r.text
    r = await now.http.get(f"/v2/images/{image_id}/file", headers=now.auth())
    assert r.content == DATA
    # Cached files are named by content (image id and multihash prefix), never reused stale.
    cached = now.settings.cache_dir / f"{image_id}.{hashlib.sha256(DATA).hexdigest()[:64]}"
    assert cached.read_bytes() == DATA


async def test_copy_checks_the_recorded_multihash(client_factory: MakeClient) -> None:
    client = await with_algorithm(client_factory, "sha256")
    image_id = await client.image_with_data(DATA)
    async with client.deps.db.begin() as s:  # md5 and size still match: only sha256 can tell
        await s.exec(update(Image).where(Image.id == image_id).values(os_hash_value="0" * 64))
    with pytest.raises(IntegrityError):
        await storage.copy_verified(client.deps, image_id, "local", "s3")
    async with client.deps.db.read() as s:
        latest = (await events.events_for(s, [image_id]))[image_id][0]
    assert (latest.action, latest.changes["field"]) == ("integrity_error", "os_hash_value")
    assert [loc.store for loc in await storage.locations_of(client.deps, image_id)] == ["local"]
