"""Image data out: every check (visibility, policy, status, range) happens before the first
byte, then the cheapest path serves it: a local file, a verified cache copy, a presigned
redirect, or a stream from the store (filling the cache on the way)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, select

from glimpse.core.context import RequestContext
from glimpse.core.errors import Forbidden, RangeNotSatisfiable, StoreUnavailable
from glimpse.models.tables import Image, ImageLocation
from glimpse.resolvers import cache, storage
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.images import load_visible
from glimpse.stores.base import BlobStore


@dataclass(frozen=True)
class ByteRange:
    """A parsed single range request: ``start`` inclusive, ``end`` inclusive or ``None``;
    ``suffix`` is the ``bytes=-N`` form. ``invalid`` is a range that could not be parsed
    (Glance answers 416 for it, once the image is known to exist and be readable);
    ``end_within`` refuses an ``end`` past the data instead of clipping it (Glance's legacy
    request ``Content-Range`` without a total length)."""

    start: int | None = None
    end: int | None = None
    suffix: int | None = None
    invalid: bool = False
    end_within: bool = False


@dataclass
class Download:
    """Everything a response needs, decided before its first byte is sent."""

    image: Image
    size: int
    start: int
    end: int  # exclusive
    partial: bool
    store: BlobStore | None
    uri: str | None
    # Fast paths (see _fast_paths): answer with a redirect to a presigned URL, or copy
    # the bytes into the local cache while they stream.
    redirect: str | None = None
    redirect_status: int = 302
    fill: cache.Filler | None = None

    @property
    def length(self) -> int:
        return self.end - self.start

    def local_path(self) -> Path | None:
        return self.store.local_path(self.uri) if self.store and self.uri else None

    def chunks(self) -> AsyncIterator[bytes]:
        assert self.store is not None
        assert self.uri is not None
        source = self.store.open(self.uri, self.start, self.end)
        return self.fill(source) if self.fill else source


async def prepare_download(
    deps: Deps, ctx: RequestContext, image_id: str, rng: ByteRange | None = None
) -> Download:
    """Check visibility, policy, status and range before any byte is sent."""
    async with deps.db.read() as s:
        image, target = await load_visible(s, deps, ctx, image_id)
        deps.policy.enforce("download_image", ctx.principal, target)
        if image.status == "deactivated" and not ctx.is_admin:
            raise Forbidden(
                "The requested image has been deactivated. Image data download is forbidden."
            )
        rows = await s.exec(
            select(ImageLocation)
            .where(ImageLocation.image_id == image.id, ImageLocation.status == "active")
            .order_by(col(ImageLocation.id))
        )
        loc = storage.pick_location(deps, list(rows.all()))
    if loc is None or image.size is None:
        return Download(image, 0, 0, 0, False, None, None)
    size = image.size
    start, end = _resolve_range(rng, size)
    store = deps.stores.for_uri(loc.url)
    if store is None:
        raise StoreUnavailable(f"No configured store holds the data of image {image.id}")
    dl = Download(image, size, start, end, rng is not None, store, loc.url)
    await _fast_paths(deps, ctx, dl)
    return dl


async def _fast_paths(deps: Deps, ctx: RequestContext, dl: Download) -> None:
    """Cheapest way to serve ``dl``: a verified local cache copy (file fast path), else a
    redirect to a presigned URL when configured, else stream from the store, filling the
    cache on full downloads from remote stores."""
    assert dl.store is not None
    assert dl.uri is not None
    cached = await cache.hit(deps, dl.image)
    if cached is not None:
        dl.store, dl.uri = cache.file_store(deps), cached
        return
    options = deps.settings.downloads
    if options.redirect:
        url = await dl.store.presign(dl.uri, options.redirect_ttl_seconds)
        if url is not None:
            dl.redirect, dl.redirect_status = url, options.redirect_status
            return
    if not dl.partial and dl.store.local_path(dl.uri) is None:
        dl.fill = cache.filler(deps, ctx, dl.image)


def _resolve_range(rng: ByteRange | None, size: int) -> tuple[int, int]:
    if rng is None:
        return 0, size
    if rng.invalid or (rng.end_within and rng.end is not None and rng.end >= size):
        raise RangeNotSatisfiable("Requested range not satisfiable", size=size)
    if rng.suffix is not None:
        if rng.suffix == 0 or size == 0:
            raise RangeNotSatisfiable("Requested range not satisfiable", size=size)
        return max(0, size - rng.suffix), size
    start = rng.start or 0
    if start >= size:
        raise RangeNotSatisfiable("Requested range not satisfiable", size=size)
    end = size if rng.end is None else min(rng.end + 1, size)
    if end <= start:
        raise RangeNotSatisfiable("Requested range not satisfiable", size=size)
    return start, end
