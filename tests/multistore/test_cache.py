"""The local cache of images held in S3: filled on first download, served from disk later,
pre-cached through /v2/cache, size-capped with LRU eviction, verified on the way in."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from glimpse.core.errors import IntegrityError
from glimpse.resolvers import events, storage
from tests.multistore.conftest import Client, MakeClient, cache_on

MiB = 1024 * 1024


@pytest.fixture
async def cached(client_factory: MakeClient) -> Client:
    base = (await client_factory()).settings
    return await client_factory(cache_on(base))


async def s3_uri(client: Client, image_id: str) -> str:
    locs = await storage.locations_of(client.deps, image_id)
    return next(loc.url for loc in locs if loc.store == "s3")


async def listing(client: Client) -> dict:
    r = await client.http.get("/v2/cache", headers=client.admin)
    assert r.status_code == 200, r.text
    return r.json()


def cached_ids(state: dict) -> set[str]:
    return {c["image_id"] for c in state["cached_images"]}


def cache_files(client: Client, image_id: str) -> list[Path]:
    """The complete cached copies of an image (named ``<image_id>.<content key>``)."""
    return sorted(client.settings.cache_dir.glob(f"{image_id}.*"))


async def last_event(client: Client, image_id: str) -> events.ImageEvent:
    async with client.deps.db.read() as s:
        return (await events.events_for(s, [image_id]))[image_id][0]


async def test_cache_api_without_cache(client: Client) -> None:
    image_id = await client.image_with_data(b"x", store="s3")
    calls = [
        ("GET", "/v2/cache"),
        ("PUT", f"/v2/cache/{image_id}"),
        ("DELETE", f"/v2/cache/{image_id}"),
        ("DELETE", "/v2/cache"),
        ("POST", "/v2/cache/clean"),
        ("POST", "/v2/cache/prune"),
    ]
    for method, path in calls:
        r = await client.http.request(method, path, headers=client.admin)
        assert r.status_code == 404, (method, path)
        assert "not supported" in r.text
        r = await client.http.request(method, path, headers=client.auth())
        assert r.status_code == 403, (method, path)
    ids = [v["id"] for v in (await client.http.get("/versions")).json()["versions"]]
    assert "v2.14" not in ids


async def test_versions_advertise_cache_family(cached: Client) -> None:
    versions = (await cached.http.get("/versions")).json()["versions"]
    ids = [v["id"] for v in versions]
    assert ids[:5] == ["v2.18", "v2.16", "v2.15", "v2.14", "v2.13"]
    assert versions[0]["status"] == "CURRENT"


async def test_first_download_fills_later_ones_hit(cached: Client) -> None:
    data = os.urandom(5 * MiB + 3)
    image_id = await cached.image_with_data(data, store="s3")
    h = cached.auth()
    r = await cached.http.get(f"/v2/images/{image_id}/file", headers={**h, "Range": "bytes=0-9"})
    assert r.content == data[:10]
    assert cached_ids(await listing(cached)) == set()  # partial reads do not fill
    r = await cached.http.get(f"/v2/images/{image_id}/file", headers=h)
    assert r.content == data
    [entry] = (await listing(cached))["cached_images"]
    assert entry["image_id"] == image_id
    assert entry["size"] == len(data)
    assert entry["hits"] == 0
    [cache_file] = cache_files(cached, image_id)
    assert cache_file.stat().st_size == len(data)
    # Take the S3 object away: later downloads are served from the local copy.
    await cached.deps.stores.get("s3").delete(await s3_uri(cached, image_id))
    r = await cached.http.get(f"/v2/images/{image_id}/file", headers=h)
    assert r.status_code == 200
    assert r.content == data
    assert (
        r.headers["content-md5"]
        == (await cached.http.get(f"/v2/images/{image_id}", headers=h)).json()["checksum"]
    )
    r = await cached.http.get(f"/v2/images/{image_id}/file", headers={**h, "Range": "bytes=-4"})
    assert r.status_code == 206
    assert r.content == data[-4:]
    assert (await listing(cached))["cached_images"][0]["hits"] == 2


async def test_local_store_images_are_not_filled_on_download(cached: Client) -> None:
    image_id = await cached.image_with_data(b"local bytes")
    r = await cached.http.get(f"/v2/images/{image_id}/file", headers=cached.auth())
    assert r.content == b"local bytes"
    assert cached_ids(await listing(cached)) == set()


async def test_lru_eviction_keeps_the_cache_under_its_cap(
    client_factory: MakeClient,
) -> None:
    base = (await client_factory()).settings
    client = await client_factory(cache_on(base, max_size=int(2.5 * MiB)))
    blobs = {name: os.urandom(MiB) for name in "abc"}
    ids = {name: await client.image_with_data(b, store="s3") for name, b in blobs.items()}
    h = client.auth()

    async def download(name: str) -> None:
        r = await client.http.get(f"/v2/images/{ids[name]}/file", headers=h)
        assert r.content == blobs[name]
        await asyncio.sleep(0.01)  # distinct access times

    for name in ("a", "b", "a", "c"):  # b is now the least recently used
        await download(name)
    assert cached_ids(await listing(client)) == {ids["a"], ids["c"]}
    assert cache_files(client, ids["b"]) == []
    big = await client.image_with_data(os.urandom(3 * MiB), store="s3")  # larger than the cap
    await client.http.get(f"/v2/images/{big}/file", headers=h)
    assert big not in cached_ids(await listing(client))


async def test_prune_and_clear(client_factory: MakeClient) -> None:
    base = cache_on((await client_factory()).settings)
    client = await client_factory(base)
    ids = [await client.image_with_data(os.urandom(MiB), store="s3") for _ in range(3)]
    for image_id in ids:
        await client.http.get(f"/v2/images/{image_id}/file", headers=client.auth())
    assert cached_ids(await listing(client)) == set(ids)
    assert (await client.http.post("/v2/cache/prune", headers=client.admin)).json() == {
        "total_files_pruned": 0,
        "total_bytes_pruned": 0,
    }
    # The operator lowers the cap; another process of the same node prunes.
    smaller = await client_factory(replace(base, cache=replace(base.cache, max_size=MiB)))
    r = await smaller.http.post("/v2/cache/prune", headers=smaller.admin)
    assert r.status_code == 200
    assert r.json() == {"total_files_pruned": 2, "total_bytes_pruned": 2 * MiB}
    assert cached_ids(await listing(client)) == {ids[2]}
    assert (await client.http.post("/v2/cache/prune", headers=client.auth())).status_code == 403

    r = await client.http.delete(
        "/v2/cache", headers={**client.admin, "x-image-cache-clear-target": "both"}
    )
    assert r.status_code == 400
    assert (
        await client.http.delete(f"/v2/cache/{ids[2]}", headers=client.admin)
    ).status_code == 204
    assert cache_files(client, ids[2]) == []
    missing = "00000000-0000-4000-8000-000000000000"
    assert (
        await client.http.delete(f"/v2/cache/{missing}", headers=client.admin)
    ).status_code == 404


async def wait_cached(client: Client, image_id: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = await listing(client)
        if image_id in cached_ids(state) or image_id not in state["queued_images"]:
            return state
        await asyncio.sleep(0.05)
    raise AssertionError("image was not prefetched in time")


async def test_admin_precaches_through_the_queue(cached: Client) -> None:
    data = os.urandom(2 * MiB)
    image_id = await cached.image_with_data(data, store="s3")
    assert (
        await cached.http.put(f"/v2/cache/{image_id}", headers=cached.auth())
    ).status_code == 403
    r = await cached.http.put(f"/v2/cache/{image_id}", headers=cached.admin)
    assert r.status_code == 202
    state = await wait_cached(cached, image_id)
    assert cached_ids(state) == {image_id}
    assert state["queued_images"] == []
    assert [p.read_bytes() for p in cache_files(cached, image_id)] == [data]
    r = await cached.http.post(
        "/v2/images", json={"disk_format": "raw", "container_format": "bare"}, headers=cached.auth()
    )
    queued = r.json()["id"]
    assert (await cached.http.put(f"/v2/cache/{queued}", headers=cached.admin)).status_code == 400
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await cached.http.put(f"/v2/cache/{missing}", headers=cached.admin)).status_code == 404
    # Clearing the queue only leaves cached copies alone.
    r = await cached.http.delete(
        "/v2/cache", headers={**cached.admin, "x-image-cache-clear-target": "queue"}
    )
    assert r.status_code == 204
    assert cached_ids(await listing(cached)) == {image_id}
    r = await cached.http.delete("/v2/cache", headers=cached.admin)
    assert r.status_code == 204
    assert await listing(cached) == {"cached_images": [], "queued_images": []}


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


async def test_clean_removes_invalid_and_stalled_files(cached: Client) -> None:
    root = cached.settings.cache_dir
    await asyncio.to_thread(cached.deps.extras["local_cache"].prepare)
    invalid, stalled, recent = (
        root / "invalid" / "x",
        root / "incomplete" / "y.1",
        root / "incomplete" / "z.2",
    )
    for p in (invalid, stalled, recent):
        p.write_bytes(b"junk")
    _age(stalled, 3 * 24 * 3600)
    r = await cached.http.post("/v2/cache/clean", headers=cached.admin)
    assert r.status_code == 200
    assert r.json()["total_files_cleaned"] == 2
    assert not invalid.exists()
    assert not stalled.exists()
    assert recent.exists()


async def test_deleted_images_leave_the_cache(cached: Client) -> None:
    image_id = await cached.image_with_data(b"soon gone", store="s3")
    await cached.http.get(f"/v2/images/{image_id}/file", headers=cached.auth())
    assert len(cache_files(cached, image_id)) == 1
    assert (
        await cached.http.delete(f"/v2/images/{image_id}", headers=cached.auth())
    ).status_code == 204
    assert cached_ids(await listing(cached)) == set()
    assert cache_files(cached, image_id) == []


def causes(exc: BaseException | None) -> list[BaseException]:
    out = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


async def corrupt_s3(client: Client, image_id: str, data: bytes) -> None:
    """Replace the S3 object with bytes of the same size that hash differently."""
    s3 = client.deps.stores.get("s3")
    uri = await s3_uri(client, image_id)
    bad = bytes([data[0] ^ 0xFF]) + data[1:]
    s3_client = await s3._s3()
    await s3_client.put_object(Bucket=s3.bucket, Key=uri.split("/", 3)[3], Body=bad)


async def test_corrupt_data_never_enters_the_cache(cached: Client) -> None:
    data = os.urandom(3 * MiB)
    image_id = await cached.image_with_data(data, store="s3")
    await corrupt_s3(cached, image_id, data)
    received = bytearray()

    async def fetch() -> None:
        url = f"/v2/images/{image_id}/file"
        async with cached.http.stream("GET", url, headers=cached.auth()) as r:
            assert r.status_code == 200
            async for chunk in r.aiter_bytes():
                received.extend(chunk)

    with pytest.raises(Exception) as failure:  # noqa: PT011 - the server aborts the response
        await fetch()
    assert any(isinstance(e, IntegrityError) for e in causes(failure.value))
    assert len(received) < len(data)  # the client never saw a complete (corrupt) body
    assert cached_ids(await listing(cached)) == set()
    assert cache_files(cached, image_id) == []
    assert (cached.settings.cache_dir / "invalid" / image_id).exists()
    event = await last_event(cached, image_id)
    assert event.action == "integrity_error"
    assert event.changes["where"] == "download"
    assert event.changes["field"] == "checksum"

    # The prefetcher verifies the same way.
    assert (await cached.http.put(f"/v2/cache/{image_id}", headers=cached.admin)).status_code == 202
    state = await wait_cached(cached, image_id)
    assert cached_ids(state) == set()
    assert state["queued_images"] == []
    event = await last_event(cached, image_id)
    assert (event.action, event.changes["where"]) == ("integrity_error", "prefetch")


async def _finished(client: Client, task_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = await client.http.get(f"/v2/tasks/{task_id}", headers=client.admin)
        if r.json()["status"] in ("success", "failure"):
            return dict(r.json())
        await asyncio.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish")


async def _download(client: Client, image_id: str) -> tuple[bytes, str]:
    r = await client.http.get(f"/v2/images/{image_id}/file", headers=client.auth())
    assert r.status_code == 200, r.text
    return r.content, r.headers["content-md5"]


@pytest.mark.parametrize("api", ["rest", "graphql"])
async def test_a_resized_image_is_never_served_from_its_old_copy(
    cached: Client, qemu_img: str, api: str
) -> None:
    """Finding 7: the cache was keyed by image id, so after a resize the old bytes (once
    truncated, with the new Content-MD5) were served. Copies are named by content now."""
    data = os.urandom(MiB)
    image_id = await cached.image_with_data(data, store="s3")
    body, md5 = await _download(cached, image_id)  # fills the cache
    assert body == data
    [old_copy] = cache_files(cached, image_id)
    if api == "rest":
        r = await cached.http.post(
            f"/v2/images/{image_id}/actions", json={"resize": 2 * MiB}, headers=cached.auth()
        )
        task_id = r.json()["task_id"]
    else:
        q = "mutation($id: ID!, $s: BigInt!) { resizeImage(id: $id, size: $s) { id } }"
        r = await cached.http.post(
            "/graphql",
            json={"query": q, "variables": {"id": image_id, "s": 2 * MiB}},
            headers=cached.auth(),
        )
        task_id = r.json()["data"]["resizeImage"]["id"]
    assert (await _finished(cached, task_id))["status"] == "success"
    shown = (await cached.http.get(f"/v2/images/{image_id}", headers=cached.auth())).json()
    for _ in range(2):  # the first fills the cache again, the second is served from it
        body, md5 = await _download(cached, image_id)
        assert body == data + bytes(MiB)
        assert len(body) == shown["size"] == 2 * MiB
        assert md5 == shown["checksum"]
        assert hashlib.md5(body, usedforsecurity=False).hexdigest() == md5
    [new_copy] = cache_files(cached, image_id)
    assert new_copy != old_copy
    assert new_copy.read_bytes() == body
    assert (await listing(cached))["cached_images"][0]["hits"] == 1
