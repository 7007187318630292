"""The orphan sweep: blobs no image location refers to, and writes nobody will finish.

Every failure path removes its own data, but a process that dies between a store's atomic
``put`` and the transaction recording it, or in the middle of a write, cannot. The sweep
finds those leftovers by comparing what the stores hold with the ``image_locations`` rows
(every status, staged data included) and removes what is older than a grace period, which
must exceed the time between a put finishing and its row committing (milliseconds). It runs
in the task runner every hour and on demand as ``glimpse store sweep``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, select

from glimpse.core.errors import GlimpseError
from glimpse.models.tables import ImageLocation
from glimpse.resolvers.deps import Deps
from glimpse.stores.base import BlobInfo, BlobStore

log = logging.getLogger(__name__)
DEFAULT_GRACE_SECONDS = 3600.0


@dataclass(frozen=True)
class SweepResult:
    """What one store gave back."""

    store: str
    orphans: int
    orphan_bytes: int
    partial_writes: int


async def sweep(
    deps: Deps, *, grace_seconds: float = DEFAULT_GRACE_SECONDS, now: float | None = None
) -> list[SweepResult]:
    """Remove unreferenced blobs and abandoned writes older than ``grace_seconds``."""
    before = (now if now is not None else time.time()) - grace_seconds
    results = []
    for store in deps.stores:
        if store.read_only:
            continue
        partial = await store.discard_partial(before)
        candidates = [b async for b in store.blobs() if b.modified < before]
        orphans = [b for b in await _unreferenced(deps, candidates) if await _removed(store, b)]
        results.append(SweepResult(store.name, len(orphans), sum(b.size for b in orphans), partial))
        if orphans or partial:
            log.warning(
                "sweep of %s removed %d orphan blobs and %d unfinished writes",
                store.name,
                len(orphans),
                partial,
            )
    return results


async def _removed(store: BlobStore, blob: BlobInfo) -> bool:
    """Delete one orphan; a file the store will not address (a name it would never write)
    is left for the operator rather than stopping the sweep."""
    try:
        await store.delete(blob.uri)
    except GlimpseError as exc:
        log.warning("sweep left %s in %s: %s", blob.uri, store.name, exc)
        return False
    return True


async def _unreferenced(deps: Deps, blobs: Sequence[BlobInfo]) -> list[BlobInfo]:
    """The blobs no location row names, asked in batches (a store may hold millions)."""
    out: list[BlobInfo] = []
    for start in range(0, len(blobs), 500):
        batch = blobs[start : start + 500]
        async with deps.db.read() as s:
            rows = await s.exec(
                select(ImageLocation.url).where(col(ImageLocation.url).in_([b.uri for b in batch]))
            )
            known = set(rows.all())
        out += [b for b in batch if b.uri not in known]
    return out


__all__ = ["BlobStore", "SweepResult", "sweep"]
