"""Test harnesses: each driver plus a way to list whatever it left behind."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioboto3

from glimpse.stores.base import BlobStore
from glimpse.stores.filesystem import FilesystemStore
from glimpse.stores.memory import MemoryStore
from glimpse.stores.s3 import S3Store

MiB = 1 << 20
BUCKET = "glimpse-images"


@dataclass
class Harness:
    """A store under test and a probe for leftovers (objects, temp files, open uploads)."""

    kind: str
    store: BlobStore
    leftovers: Callable[[], Awaitable[list[str]]]


def memory_harness() -> Harness:
    store = MemoryStore("mem")

    async def leftovers() -> list[str]:
        return store.keys()

    return Harness("memory", store, leftovers)


def filesystem_harness(root: Path) -> Harness:
    store = FilesystemStore("local", root / "images")

    async def leftovers() -> list[str]:
        base = root / "images"
        return sorted(
            str(Path(d, f).relative_to(base)) for d, _, files in os.walk(base) for f in files
        )

    return Harness("filesystem", store, leftovers)


def s3_options(endpoint: str, **extra: Any) -> dict[str, Any]:
    return {
        "endpoint_url": endpoint,
        "bucket": BUCKET,
        "prefix": "glimpse/",
        "access_key": "test",
        "secret_key": "test",
        "region": "us-east-1",
        "addressing_style": "path",
        "part_size": 5 * MiB,
        "create_bucket": True,
        **extra,
    }


async def s3_listing(endpoint: str) -> list[str]:
    """Objects and unfinished multipart uploads in the test bucket."""
    session = aioboto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    async with session.client("s3", endpoint_url=endpoint) as s3:
        objects = await s3.list_objects_v2(Bucket=BUCKET)
        uploads = await s3.list_multipart_uploads(Bucket=BUCKET)
    found = [o["Key"] for o in objects.get("Contents", [])]
    found += [f"upload:{u['Key']}" for u in uploads.get("Uploads", [])]
    return sorted(found)


def s3_harness(endpoint: str) -> Harness:
    store = S3Store("s3", s3_options(endpoint))

    async def leftovers() -> list[str]:
        return await s3_listing(endpoint)

    return Harness("s3", store, leftovers)


async def chunks_of(data: bytes, size: int = 300 * 1024) -> AsyncIterator[bytes]:
    """Yield ``data`` in irregular network-like slices."""
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


async def collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])
