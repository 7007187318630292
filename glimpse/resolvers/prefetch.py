"""The prefetcher: pulls images queued through ``PUT /v2/cache/{id}`` into the local cache.

It runs inside every server process (a startup hook of the app) when the cache is on.
Processes of one node share the queue in the database and claim entries with a
conditional UPDATE, so each image is pulled once; an entry whose claimant died is
queued again after ``cache.stall_seconds``. Copies are verified like download fills.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import delete as sa_delete
from sqlalchemy import update
from sqlmodel import col, select

from glimpse.core.clock import utcnow
from glimpse.core.errors import GlimpseError
from glimpse.models.tables import CachedImage, Image
from glimpse.resolvers import cache
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.storage import locations_of, pick_location

log = logging.getLogger(__name__)


async def claim(deps: Deps) -> str | None:
    """Take the oldest queued image of this node (``queued -> caching``), if any."""
    node, now = cache.node(deps), utcnow()
    stalled = now - timedelta(seconds=deps.settings.cache.stall_seconds)
    async with deps.db.begin() as s:
        await s.exec(
            update(CachedImage)
            .where(
                col(CachedImage.node) == node,
                col(CachedImage.state) == "caching",
                col(CachedImage.last_modified) < stalled,
            )
            .values(state="queued")
        )
        row = (
            await s.exec(
                select(CachedImage)
                .where(CachedImage.node == node, CachedImage.state == "queued")
                .order_by(col(CachedImage.last_modified), col(CachedImage.image_id))
            )
        ).first()
        if row is None:
            return None
        result = await s.exec(
            update(CachedImage)
            .where(
                col(CachedImage.node) == node,
                col(CachedImage.image_id) == row.image_id,
                col(CachedImage.state) == "queued",
            )
            .values(state="caching", last_modified=now)
        )
    return row.image_id if result.rowcount == 1 else None


async def prefetch_one(deps: Deps, image_id: str) -> bool:
    """Pull one claimed image into the cache; returns whether it is cached now."""
    try:
        async with deps.db.read() as s:
            image = await s.get(Image, image_id)
        if image is None or image.deleted or image.status != "active":
            raise LookupError(f"image {image_id} is gone or not active")
        loc = pick_location(deps, await locations_of(deps, image_id))
        store = deps.stores.for_uri(loc.url) if loc else None
        if loc is None or store is None:
            raise LookupError(f"no readable location for image {image_id}")
        if cache.expected_of(image).key is None:
            raise LookupError(f"image {image_id} has no checksum to name its cached copy")
        writer = await cache.files(deps).writer(image.id, cache.expected_of(image))
        try:
            async for chunk in store.open(loc.url):
                await writer.send(chunk)
            await cache.commit(deps, None, image, writer, "prefetch")
        finally:
            writer.discard()
        return True
    except (GlimpseError, LookupError, OSError) as exc:
        log.warning("prefetch of image %s failed: %s", image_id, exc)
        await _forget(deps, image_id)
        return False


async def _forget(deps: Deps, image_id: str) -> None:
    async with deps.db.begin() as s:
        await s.exec(
            sa_delete(CachedImage).where(
                col(CachedImage.node) == cache.node(deps),
                col(CachedImage.image_id) == image_id,
                col(CachedImage.state) != "cached",
            )
        )


async def drain(deps: Deps) -> int:
    """Prefetch until the queue is empty; returns how many images were pulled in."""
    done = 0
    while (image_id := await claim(deps)) is not None:
        done += await prefetch_one(deps, image_id)
    return done


async def _loop(deps: Deps, wake: asyncio.Event) -> None:
    while True:
        try:
            await drain(deps)
        except Exception:  # keep the service up; the next round retries
            log.exception("image cache prefetcher failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), deps.settings.cache.poll_seconds)
        wake.clear()


@contextlib.asynccontextmanager
async def prefetcher(deps: Deps) -> AsyncIterator[None]:
    """Startup hook: run the prefetcher for the lifetime of the app (cache enabled only)."""
    if not cache.enabled(deps):
        yield
        return
    await asyncio.to_thread(cache.files(deps).prepare)
    wake = deps.extras["cache_wakeup"] = asyncio.Event()
    task = asyncio.create_task(_loop(deps, wake), name="glimpse-cache-prefetcher")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        deps.extras.pop("cache_wakeup", None)
