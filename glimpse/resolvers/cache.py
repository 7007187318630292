"""The local image cache: a fast path for images held in remote stores (Glance §1.12).

Downloads of an uncached image from a remote store fill the cache while streaming (the
last chunk is held back until the copy verified, so a client never receives a complete
response of corrupt data); admins can pre-cache images (``queue``), which the prefetcher
started with the service pulls in. Later downloads are served from the local file, which
lets the server use its file fast path. Size-capped, least recently used evicted first.

The catalog (what is cached, hits, access times) is the ``cached_images`` table, one row
per (node, image), so every worker process of a node agrees and ``GET /v2/cache`` is right
whichever process answers. The files belong to ``glimpse.stores.localcache``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from sqlalchemy import delete as sa_delete
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlmodel import col, select

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import IntegrityError, InvalidInput, NotFound
from glimpse.models.tables import CachedImage, Image
from glimpse.resolvers import image_rules as rules
from glimpse.resolvers.conflicts import inserted
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.storage import record_integrity_error
from glimpse.stores.filesystem import FilesystemStore
from glimpse.stores.localcache import CacheWriter, Expected, LocalCache

log = logging.getLogger(__name__)
NOT_SUPPORTED = "Caching via API is not supported at this site."
CLEAR_TARGETS = ("", "cache", "queue")


@dataclass
class CacheState:
    """What ``GET /v2/cache`` shows: complete copies and the prefetch queue."""

    cached: list[CachedImage]
    queued: list[str]


def enabled(deps: Deps) -> bool:
    return deps.settings.cache.enabled


def node(deps: Deps) -> str:
    """This host's name in the catalog (several hosts may share the database)."""
    return deps.settings.cache.node or socket.gethostname()


def files(deps: Deps) -> LocalCache:
    """This process's handle on the cache directory (created on first use)."""
    cache = deps.extras.get("local_cache")
    if cache is None:
        cache = deps.extras["local_cache"] = LocalCache(deps.settings.cache_dir)
    assert isinstance(cache, LocalCache)
    return cache


def file_store(deps: Deps) -> FilesystemStore:
    """The cache directory seen as a read-only blob store, so downloads of cached copies go
    through the same ranged reads and file fast path as any local store."""
    store = deps.extras.get("cache_store")
    if store is None:
        store = deps.extras["cache_store"] = FilesystemStore(
            "cache", deps.settings.cache_dir, read_only=True
        )
    assert isinstance(store, FilesystemStore)
    return store


def _require(deps: Deps, ctx: RequestContext) -> None:
    """Policy first (403), then whether this site has a cache (404), as Glance answers."""
    deps.policy.enforce("manage_image_cache", ctx.principal)
    if not enabled(deps):
        raise NotFound(NOT_SUPPORTED)


async def _existing_image(deps: Deps, image_id: str) -> Image | None:
    try:
        image_id = rules.validate_id(image_id)
    except InvalidInput:
        return None
    async with deps.db.read() as s:
        stmt = select(Image).where(Image.id == image_id, col(Image.deleted).is_(False))
        return (await s.exec(stmt)).first()


# ---------------------------------------------------------------------------- admin API


async def state(deps: Deps, ctx: RequestContext) -> CacheState:
    """Cached copies (with hits and times) and queued image ids of this node."""
    _require(deps, ctx)
    await reconcile(deps)
    async with deps.db.read() as s:
        rows = list(
            (
                await s.exec(
                    select(CachedImage)
                    .where(CachedImage.node == node(deps))
                    .order_by(col(CachedImage.last_modified), col(CachedImage.image_id))
                )
            ).all()
        )
    return CacheState(
        cached=[r for r in rows if r.state == "cached"],
        queued=[r.image_id for r in rows if r.state != "cached"],
    )


async def queue(deps: Deps, ctx: RequestContext, image_id: str) -> None:
    """Queue an active image for pre-caching (the prefetcher pulls it in shortly)."""
    image = await _existing_image(deps, image_id)
    if image is None:
        raise NotFound(f"Image {image_id} not found.")
    _require(deps, ctx)
    if image.status != "active":
        raise InvalidInput("Only images with status active can be targeted for queueing")
    async with deps.db.begin() as s:
        row = await s.get(CachedImage, (node(deps), image.id))
        if row is None:  # queued twice at once: both are fine
            await inserted(s, CachedImage(node=node(deps), image_id=image.id, state="queued"))
    wake = deps.extras.get("cache_wakeup")
    if isinstance(wake, asyncio.Event):
        wake.set()


async def delete(deps: Deps, ctx: RequestContext, image_id: str) -> None:
    """Drop an image from the cache and from the queue."""
    image = await _existing_image(deps, image_id)
    if image is None and not await _known(deps, image_id):
        raise NotFound(f"Image {image_id} not found.")
    _require(deps, ctx)
    async with deps.db.begin() as s:
        await s.exec(
            sa_delete(CachedImage).where(
                col(CachedImage.node) == node(deps), col(CachedImage.image_id) == image_id
            )
        )
    await asyncio.to_thread(files(deps).remove, image_id)


async def _known(deps: Deps, image_id: str) -> bool:
    if not enabled(deps):
        return False
    async with deps.db.read() as s:
        return await s.get(CachedImage, (node(deps), image_id)) is not None


async def clear(deps: Deps, ctx: RequestContext, target: str) -> dict[str, int]:
    """Empty the cache, the queue, or both (``target`` ``cache``/``queue``/empty)."""
    _require(deps, ctx)
    target = target.strip().lower()
    if target not in CLEAR_TARGETS:
        raise InvalidInput(
            "If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string."
        )
    out: dict[str, int] = {}
    if target in ("", "cache"):
        removed = await _drop_rows(deps, ["cached"])
        for image_id in removed:
            await asyncio.to_thread(files(deps).remove, image_id)
        out["cache_deleted"] = len(removed)
    if target in ("", "queue"):
        out["queue_deleted"] = len(await _drop_rows(deps, ["queued", "caching"]))
    return out


async def _drop_rows(deps: Deps, states: list[str]) -> list[str]:
    async with deps.db.begin() as s:
        rows = (
            await s.exec(
                select(CachedImage).where(
                    CachedImage.node == node(deps), col(CachedImage.state).in_(states)
                )
            )
        ).all()
        ids = [r.image_id for r in rows]
        for r in rows:
            await s.delete(r)
    return ids


async def clean(deps: Deps, ctx: RequestContext) -> dict[str, int]:
    """Remove invalid copies, stalled incomplete files and entries of deleted images."""
    _require(deps, ctx)
    n, freed = await asyncio.to_thread(files(deps).clean, deps.settings.cache.stall_seconds)
    stale = await reconcile(deps)
    return {"total_files_cleaned": n + stale, "total_bytes_cleaned": freed}


async def prune(deps: Deps, ctx: RequestContext) -> dict[str, int]:
    """Evict least recently used copies until the cache fits its size cap."""
    _require(deps, ctx)
    n, freed = await evict(deps, keep=frozenset())
    return {"total_files_pruned": n, "total_bytes_pruned": freed}


# ---------------------------------------------------------------------------- housekeeping


async def evict(deps: Deps, keep: frozenset[str]) -> tuple[int, int]:
    """Least recently accessed copies go first until the total fits ``max_size``."""
    cap = deps.settings.cache.max_size
    async with deps.db.begin() as s:
        rows = list(
            (
                await s.exec(
                    select(CachedImage)
                    .where(CachedImage.node == node(deps), CachedImage.state == "cached")
                    .order_by(col(CachedImage.last_accessed), col(CachedImage.image_id))
                )
            ).all()
        )
        total = sum(r.size for r in rows)
        victims = []
        for r in rows:
            if total <= cap:
                break
            if r.image_id in keep:
                continue
            victims.append(r)
            total -= r.size
            await s.delete(r)
    for r in victims:
        await asyncio.to_thread(files(deps).remove, r.image_id)
    return len(victims), sum(r.size for r in victims)


async def reconcile(deps: Deps) -> int:
    """Forget copies whose file vanished or whose image was deleted; remove their files."""
    on_disk = set(await asyncio.to_thread(files(deps).complete_ids))
    async with deps.db.begin() as s:
        rows = (
            await s.exec(
                select(CachedImage, Image.deleted)
                .join(Image, col(Image.id) == col(CachedImage.image_id), isouter=True)
                .where(CachedImage.node == node(deps))
            )
        ).all()
        stale = []
        for row, deleted in rows:
            gone = row.state == "cached" and row.image_id not in on_disk
            if deleted is not False or gone:
                stale.append(row.image_id)
                await s.delete(row)
    for image_id in stale:
        await asyncio.to_thread(files(deps).remove, image_id)
    return len(stale)


# ---------------------------------------------------------------------------- downloads


async def hit(deps: Deps, image: Image) -> str | None:
    """URI (in :func:`file_store`) of a complete copy of exactly this version of ``image``
    (named by its checksums, see glimpse.stores.localcache), counting the hit."""
    content = expected_of(image).key
    if not enabled(deps) or files(deps).cached(image.id, content) is None:
        return None
    async with deps.db.begin() as s:
        result = await s.exec(
            update(CachedImage)
            .where(
                col(CachedImage.node) == node(deps),
                col(CachedImage.image_id) == image.id,
                col(CachedImage.state) == "cached",
            )
            .values(hits=CachedImage.hits + 1, last_accessed=utcnow())
        )
    if result.rowcount != 1 or content is None:
        return None  # a file the catalog does not know (yet): not trusted
    return files(deps).path(image.id, content).as_uri()


Filler = Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]


def filler(deps: Deps, ctx: RequestContext | None, image: Image) -> Filler | None:
    """A wrapper that copies a full download into the cache, or ``None`` when this image
    should not be cached now (too big, or another download of this process fills it)."""
    if not enabled(deps) or image.size is None or image.size > deps.settings.cache.max_size:
        return None
    if expected_of(image).key is None:
        return None
    inflight: set[str] = deps.extras.setdefault("cache_inflight", set())
    if image.id in inflight:
        return None
    inflight.add(image.id)

    def wrap(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        return _tee(deps, ctx, image, source, inflight)

    return wrap


async def _tee(
    deps: Deps,
    ctx: RequestContext | None,
    image: Image,
    source: AsyncIterator[bytes],
    inflight: set[str],
) -> AsyncIterator[bytes]:
    """Yield ``source`` while writing it to the cache; the last chunk waits for the verdict."""
    writer = None
    try:
        writer = await files(deps).writer(image.id, expected_of(image))
        held: bytes | None = None
        async for chunk in source:
            await writer.send(chunk)
            if held is not None:
                yield held
            held = chunk
        await commit(deps, ctx, image, writer, "download")
        if held is not None:
            yield held
    finally:
        inflight.discard(image.id)
        if writer is not None:
            writer.discard()


async def commit(
    deps: Deps, ctx: RequestContext | None, image: Image, writer: CacheWriter, where: str
) -> None:
    """Verify and publish a copy, then catalog it and keep the cache within its cap; a
    mismatch is recorded as an image event and raised."""
    try:
        await writer.commit()
    except IntegrityError as exc:
        await record_integrity_error(deps, ctx, image.id, exc, where)
        raise
    await _mark_cached(deps, image)
    await evict(deps, keep=frozenset({image.id}))


def expected_of(image: Image) -> Expected:
    return Expected(
        size=image.size,
        md5=image.checksum,
        os_hash_value=image.os_hash_value,
        os_hash_algo=image.os_hash_algo,
    )


async def _mark_cached(deps: Deps, image: Image) -> None:
    now = utcnow()
    try:
        async with deps.db.begin() as s:
            row = await s.get(CachedImage, (node(deps), image.id))
            if row is None:
                row = CachedImage(node=node(deps), image_id=image.id)
            row.state, row.size, row.last_accessed, row.last_modified = (
                "cached",
                image.size or 0,
                now,
                now,
            )
            s.add(row)
    except DBIntegrityError:  # another process cataloged the same copy first
        log.debug("cache entry for %s was recorded concurrently", image.id)


__all__ = ["CacheState", "Filler", "clean", "clear", "delete", "filler", "hit", "prune", "queue"]
