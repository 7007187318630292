"""Moving image data in background tasks: source -> (rate limit, progress) -> hashing,
format inspection -> store. Shared by imports, copies and resizes.

A transfer writes under a key derived from the image and the task, so running a step again
after a crash overwrites its own earlier attempt instead of piling up blobs; the store's
``put`` is atomic, so nothing half-written is ever visible under that key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass

from sqlmodel import col, select

from glimpse.core.context import RequestContext
from glimpse.core.errors import Conflict, IntegrityError, PayloadTooLarge, StoreUnavailable
from glimpse.models.tables import Image, ImageLocation
from glimpse.resolvers import storage
from glimpse.resolvers.data import instrument, raise_quota_if_capped, verdict
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.images import remove_blobs
from glimpse.resolvers.signatures import SignatureCheck
from glimpse.resolvers.task_queue import Progress
from glimpse.stores.base import BlobStore, StoredBlob


@dataclass(frozen=True)
class Transferred:
    """A completed, verified write."""

    store: str
    uri: str
    size: int
    md5: str
    hash_algo: str
    os_hash_value: str
    virtual_size: int | None


async def paced(
    deps: Deps,
    chunks: AsyncIterable[bytes],
    progress: Progress | None,
    total: int | Callable[[], int | None] | None,
    label: str,
    span: tuple[int, int] = (0, 100),
) -> AsyncIterator[bytes]:
    """Pass chunks through, holding to ``tasks.io_rate_limit`` and reporting progress
    scaled into ``span`` (so a task of several steps reports one rising percentage)."""
    rate = deps.settings.tasks.io_rate_limit
    start, seen = time.monotonic(), 0
    lo, hi = span
    async for chunk in chunks:
        seen += len(chunk)
        yield chunk
        if rate > 0:
            ahead = seen / rate - (time.monotonic() - start)
            if ahead > 0:
                await asyncio.sleep(ahead)
        size = total() if callable(total) else total
        if progress is not None and size:
            pct = lo + (hi - lo) * min(seen, size) // size
            await progress(min(pct, hi), f"{label}: {seen} of {size} bytes")
        elif progress is not None:
            await progress(lo, f"{label}: {seen} bytes")


async def write(
    deps: Deps,
    image: Image,
    store: BlobStore,
    key: str,
    chunks: AsyncIterable[bytes],
    *,
    expect: Image | None = None,
    ctx: RequestContext | None = None,
    cap: int | None = None,
    signed: SignatureCheck | None = None,
) -> Transferred:
    """Write ``chunks`` to ``store`` at ``key``, hashing and inspecting them (whatever the
    declared formats: data that became active before a rule existed is checked again on
    every copy). With ``expect``, the data must match that image's recorded size, md5 and
    multihash (computed with the algorithm ``expect`` records); a mismatch removes the blob,
    is recorded as an ``integrity_error`` event and raises :class:`IntegrityError`. Refused
    data (format, or a ``signed`` image's signature) is removed too. ``cap`` is what the
    project's quota leaves (see resolvers.quotas): the stream stops past it with
    :class:`QuotaExceeded`, as it stops past ``max_image_size`` with PayloadTooLarge."""
    if store.read_only:
        raise Conflict(f"Store {store.name} is read-only")
    algorithm = storage.hash_algo_for(deps, expect)
    stream, inspection = instrument(
        deps, image, chunks, None, cap=cap, signed=signed, algorithm=algorithm
    )
    try:
        async with stream:
            blob: StoredBlob = await store.put(key, stream)
    except PayloadTooLarge as exc:
        raise_quota_if_capped(deps, exc, cap, "storage")
        raise
    try:
        virtual_size = verdict(image, inspection, signed)
        if expect is not None:
            storage.verify_against(expect, stream.size, stream.md5, stream.os_hash_value, algorithm)
    except BaseException as exc:
        await remove_blobs(deps, [blob.uri])
        if isinstance(exc, IntegrityError) and expect is not None:
            await storage.record_integrity_error(
                deps, ctx, expect.id, exc, f"write to {store.name}"
            )
        raise
    return Transferred(
        store.name,
        blob.uri,
        stream.size,
        stream.md5,
        algorithm,
        stream.os_hash_value,
        virtual_size,
    )


async def active_location(deps: Deps, image_id: str) -> ImageLocation | None:
    """The first active location of an image (where copies read from)."""
    async with deps.db.read() as s:
        return (
            await s.exec(
                select(ImageLocation)
                .where(ImageLocation.image_id == image_id, ImageLocation.status == "active")
                .order_by(col(ImageLocation.id))
            )
        ).first()


def read(deps: Deps, uri: str) -> AsyncIterator[bytes]:
    """The bytes at ``uri`` from whichever configured store owns it."""
    store = deps.stores.for_uri(uri)
    if store is None:
        raise StoreUnavailable(f"No configured store holds {uri}")
    return store.open(uri)
