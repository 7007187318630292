"""The BlobStore contract (glimpse/stores/base.py), run against every driver."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from glimpse.core.errors import InvalidInput, NotFound, PayloadTooLarge
from glimpse.stores.base import BlobStore
from glimpse.stores.streaming import HashingStream
from tests.stores.drivers import (
    Harness,
    MiB,
    chunks_of,
    collect,
    filesystem_harness,
    memory_harness,
    s3_harness,
)


class Boom(Exception):
    """Raised by a failing upload source."""


@pytest.fixture(params=["memory", "filesystem", "s3"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    if request.param == "memory":
        h = memory_harness()
    elif request.param == "filesystem":
        h = filesystem_harness(tmp_path)
    else:
        h = s3_harness(request.getfixturevalue("s3_endpoint"))
    try:
        yield h
    finally:
        await h.store.close()


@pytest.fixture
def store(harness: Harness) -> BlobStore:
    return harness.store


async def test_is_a_blob_store(store: BlobStore) -> None:
    assert isinstance(store, BlobStore)


async def test_round_trip(store: BlobStore) -> None:
    data = os.urandom(100_000)
    blob = await store.put("images/abc", chunks_of(data, 4096))
    assert blob.size == len(data)
    assert await store.stat(blob.uri) == len(data)
    assert await collect(store.open(blob.uri)) == data


async def test_overwrite_replaces(store: BlobStore) -> None:
    await store.put("k", chunks_of(b"old data"))
    blob = await store.put("k", chunks_of(b"new"))
    assert await collect(store.open(blob.uri)) == b"new"


RANGE_DATA = bytes(range(256)) * (3 * 4096 + 1)  # 3 MiB + 256: crosses 1 MiB read chunks
N = len(RANGE_DATA)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, RANGE_DATA),
        (5, 10, RANGE_DATA[5:10]),
        (MiB - 3, MiB + 5, RANGE_DATA[MiB - 3 : MiB + 5]),
        (MiB, None, RANGE_DATA[MiB:]),
        (0, N + 100, RANGE_DATA),
        (N - 1, None, RANGE_DATA[-1:]),
        (-100, None, RANGE_DATA[-100:]),
        (-(N + 10), None, RANGE_DATA),
        (N, None, b""),
        (N + 5, None, b""),
        (10, 10, b""),
        (10, 5, b""),
    ],
)
async def test_ranges(store: BlobStore, start: int, end: int | None, expected: bytes) -> None:
    blob = await store.put("ranged", chunks_of(RANGE_DATA))
    assert await collect(store.open(blob.uri, start, end)) == expected


async def test_suffix_with_end_is_rejected(store: BlobStore) -> None:
    blob = await store.put("r", chunks_of(b"abc"))
    with pytest.raises(InvalidInput):
        store.open(blob.uri, -2, 3)


async def test_empty_blob(store: BlobStore) -> None:
    blob = await store.put("empty", chunks_of(b""))
    assert blob.size == 0
    assert await store.stat(blob.uri) == 0
    assert await collect(store.open(blob.uri)) == b""
    assert await collect(store.open(blob.uri, -10)) == b""


async def test_large_blob_streams(store: BlobStore) -> None:
    """40 MiB in network-sized chunks: several parts on S3, several read chunks everywhere."""
    data = os.urandom(40 * MiB)
    blob = await store.put("big/one", chunks_of(data, 256 * 1024))
    assert blob.size == len(data)
    digest = hashlib.sha256()
    async for chunk in store.open(blob.uri):
        assert len(chunk) <= 2 * MiB
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


async def test_concurrent_writers(store: BlobStore) -> None:
    payloads = {f"con/{i}": os.urandom(2 * MiB + i) for i in range(6)}
    blobs = await asyncio.gather(*(store.put(k, chunks_of(v)) for k, v in payloads.items()))
    for blob, data in zip(blobs, payloads.values(), strict=True):
        assert await collect(store.open(blob.uri)) == data


async def test_delete_is_idempotent(harness: Harness) -> None:
    store = harness.store
    blob = await store.put("gone", chunks_of(b"x" * 10))
    await store.delete(blob.uri)
    await store.delete(blob.uri)
    assert await store.stat(blob.uri) is None
    assert await harness.leftovers() == []


async def test_missing_blob(store: BlobStore) -> None:
    blob = await store.put("present", chunks_of(b"x"))
    missing = blob.uri.replace("present", "absent")
    assert await store.stat(missing) is None
    with pytest.raises(NotFound):
        await collect(store.open(missing))
    with pytest.raises(NotFound):
        await collect(store.open(missing, 10, 5))
    await store.delete(missing)


@pytest.mark.parametrize("fail_after", [0, 1 * MiB, 12 * MiB])
async def test_failure_mid_stream_leaves_nothing(harness: Harness, fail_after: int) -> None:
    async def failing() -> AsyncIterator[bytes]:
        sent = 0
        while sent < fail_after:
            yield b"\0" * (256 * 1024)
            sent += 256 * 1024
        raise Boom("client went away")

    with pytest.raises(Boom):
        await harness.store.put("broken", failing())
    assert await harness.leftovers() == []


async def test_cancellation_mid_stream_leaves_nothing(harness: Harness) -> None:
    sent_enough = asyncio.Event()

    async def stalling() -> AsyncIterator[bytes]:
        for _ in range(48):  # 12 MiB: multipart upload in progress on S3
            yield b"\1" * (256 * 1024)
        sent_enough.set()
        await asyncio.Event().wait()
        yield b""

    task = asyncio.create_task(harness.store.put("stalled", stalling()))
    await sent_enough.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await harness.leftovers() == []


async def test_size_cap_through_hashing_stream_leaves_nothing(harness: Harness) -> None:
    hs = HashingStream(chunks_of(b"\2" * (11 * MiB)), max_size=10 * MiB)
    async with hs:
        with pytest.raises(PayloadTooLarge):
            await harness.store.put("capped", hs)
    assert not hs.threads_alive
    assert await harness.leftovers() == []


@pytest.mark.parametrize("key", ["", "../etc/passwd", "a//b", "a/./b", "a/../b", "x y", "/abs"])
async def test_unsafe_keys_are_rejected(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidInput):
        await store.put(key, chunks_of(b"x"))


async def test_listing_shows_every_complete_blob(store: BlobStore) -> None:
    a = await store.put("images/a", chunks_of(b"aaaa"))
    b = await store.put("staging/b", chunks_of(os.urandom(3000)))
    listed = {blob.uri: blob for blob in [x async for x in store.blobs()]}
    assert set(listed) == {a.uri, b.uri}
    assert (listed[a.uri].size, listed[b.uri].size) == (4, 3000)
    assert all(abs(x.modified - time.time()) < 600 for x in listed.values())
    await store.delete(a.uri)
    assert [x.uri async for x in store.blobs()] == [b.uri]


async def test_nothing_partial_to_discard_after_clean_writes(harness: Harness) -> None:
    await harness.store.put("images/x", chunks_of(b"x" * 10))
    with pytest.raises(Boom):
        await harness.store.put("images/y", _failing_source())
    assert await harness.store.discard_partial(before=2**40) == 0
    assert [x.uri async for x in harness.store.blobs()] == [
        (await _uri_of(harness.store, "images/x"))
    ]


async def _failing_source() -> AsyncIterator[bytes]:
    yield b"partial"
    raise Boom


async def _uri_of(store: BlobStore, key: str) -> str:
    return next(x.uri for x in [b async for b in store.blobs()] if x.uri.endswith(key))
