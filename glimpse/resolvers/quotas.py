"""Per-project quotas and the usage report behind ``GET /v2/info/usage``.

Limits come from resolvers.limits (``settings.quotas``, or Keystone's unified limits; a
negative value is unlimited; ``image_size_total`` and ``image_stage_total`` in MiB). Counts
per image (tags, properties, members) are checked where those change (resolvers.images,
resolvers.members); this module owns the per-project totals:

* ``image_count``: non-deleted images owned by the project (checked wherever an image is
  made: create, and the copy action);
* ``image_size_total``: bytes of stored data of the project's images, counted once per
  store holding a copy (as Glance counts it: a copy-image to a second store doubles it);
* ``image_stage_total``: bytes of staged data, i.e. the project's ``staging`` locations
  (written by ``PUT /stage``, dropped when the import finishes); :func:`stage_cap` gives
  the staging path its cap.

Every path that writes bytes (upload, stage, the import methods, copy, resize) asks twice:
before the work starts, with what it knows of the size (:func:`check_size`, :func:`room`),
and when the bytes land, inside the transaction that records them (:func:`admit`). In
between, the stream itself is capped at what was left, so an over-quota write stops at the
first byte too many instead of after the whole image was written. :func:`admit` first takes
a per-project lock (a PostgreSQL advisory lock; SQLite's write transactions are serial
anyway), so two writes of one project finishing together cannot both fit into the same
remaining room.

Usage is computed from the catalog on demand (one aggregate query), never kept as a counter
that could drift.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.context import RequestContext
from glimpse.core.errors import QuotaExceeded
from glimpse.models.tables import Image, ImageLocation
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.limits import project_limits

MiB = 1024 * 1024
IN_PROGRESS = ("saving", "uploading", "importing")


@dataclass(frozen=True)
class Usage:
    """What one project consumes (bytes and counts)."""

    image_count: int
    stored_bytes: int
    staged_bytes: int
    uploading: int


def _copies() -> Any:
    """Active locations of the image of the outer query (one per store holding it)."""
    return (
        select(func.count())
        .select_from(ImageLocation)
        .where(col(ImageLocation.image_id) == col(Image.id), col(ImageLocation.status) == "active")
        .scalar_subquery()
    )


async def project_usage(s: AsyncSession, project: str, *, exclude: str | None = None) -> Usage:
    """Current consumption of ``project``; ``exclude`` leaves one image out (the one whose
    data is being replaced, whose old size must not count twice). Two queries."""
    size = func.coalesce(col(Image.size), 0)
    mine: list[Any] = [Image.owner == project, col(Image.deleted).is_(False)]
    if exclude is not None:
        mine.append(Image.id != exclude)
    stmt = select(
        func.count(),
        func.coalesce(func.sum(size * _copies()), 0),
        func.coalesce(func.sum(case((col(Image.status).in_(IN_PROGRESS), 1), else_=0)), 0),
    ).where(*mine)
    count, stored, uploading = (await s.exec(stmt)).one()
    return Usage(int(count), int(stored), await _staged_bytes(s, mine), int(uploading))


async def _staged_bytes(s: AsyncSession, mine: list[Any]) -> int:
    """Sizes of staging locations (kept in the location's ``meta``; few rows per project)."""
    rows = await s.exec(
        select(ImageLocation.meta)
        .join(Image, col(Image.id) == col(ImageLocation.image_id))
        .where(ImageLocation.status == "staging", *mine)
    )
    return sum(int(m.get("size") or 0) for m in rows if isinstance(m, dict))


def _left(limit_mib: int, used: int) -> int | None:
    """Bytes left under a MiB limit (``None``: unlimited)."""
    return None if limit_mib < 0 else max(0, limit_mib * MiB - used)


async def size_cap(deps: Deps, s: AsyncSession, project: str | None, image_id: str) -> int | None:
    """Bytes ``project`` may still store (``None``: unlimited), not counting ``image_id``:
    the cap of data that replaces all of that image's data (upload, resize)."""
    if project is None:
        return None
    limit = (await project_limits(deps, project)).image_size_total
    if limit < 0:
        return None
    used = await project_usage(s, project, exclude=image_id)
    return _left(limit, used.stored_bytes)


async def room(deps: Deps, s: AsyncSession, project: str | None) -> int | None:
    """Bytes ``project`` may still add to what it stores (``None``: unlimited): the cap of
    data stored beside what exists (a copy, an import into one more store)."""
    if project is None:
        return None
    limit = (await project_limits(deps, project)).image_size_total
    if limit < 0:
        return None
    return _left(limit, (await project_usage(s, project)).stored_bytes)


async def cap_now(deps: Deps, project: str | None, *, replacing: str | None = None) -> int | None:
    """:func:`room` (or :func:`size_cap` of ``replacing``) in a read transaction of its own:
    the stream cap of a background write, taken when it starts."""
    async with deps.db.read() as s:
        if replacing is not None:
            return await size_cap(deps, s, project, replacing)
        return await room(deps, s, project)


def _lock_key(project: str) -> int:
    """A stable signed 64-bit key per project for PostgreSQL's advisory locks."""
    digest = hashlib.sha256(f"glimpse-quota:{project}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock(deps: Deps, s: AsyncSession, project: str | None) -> None:
    """Serialise quota decisions of ``project`` until the transaction ends. SQLite needs
    nothing: its write transactions already run one at a time (BEGIN IMMEDIATE)."""
    if project is not None and deps.db.is_postgres:
        await s.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_lock_key(project)))  # type: ignore[call-overload]


async def admit(
    deps: Deps,
    s: AsyncSession,
    project: str | None,
    size: int,
    *,
    replacing: str | None = None,
) -> None:
    """The check when bytes land, in the transaction that records them: ``size`` new bytes
    fit beside everything else the project stores (``replacing``: instead of all data of
    that image). Raises :class:`QuotaExceeded`; the caller then removes what it wrote."""
    await lock(deps, s, project)
    cap = (
        await size_cap(deps, s, project, replacing)
        if replacing is not None
        else await room(deps, s, project)
    )
    check_size(cap, size)


async def admit_image(deps: Deps, s: AsyncSession, project: str | None) -> None:
    """One more image fits in ``project``'s image count (taken under the project lock)."""
    if project is None:
        return
    limit = (await project_limits(deps, project)).image_count_total
    if limit < 0:
        return
    await lock(deps, s, project)
    count = (
        await s.exec(
            select(func.count())
            .select_from(Image)
            .where(Image.owner == project, col(Image.deleted).is_(False))
        )
    ).one()
    if count >= limit:
        raise QuotaExceeded(f"Image count quota of {limit} reached for project {project}")


async def stage_cap(deps: Deps, s: AsyncSession, project: str | None, image_id: str) -> int | None:
    """Bytes ``project`` may still stage (``None``: unlimited), not counting ``image_id``."""
    if project is None:
        return None
    limit = (await project_limits(deps, project)).image_stage_total
    if limit < 0:
        return None
    used = await project_usage(s, project, exclude=image_id)
    return _left(limit, used.staged_bytes)


def check_size(cap: int | None, size: int | None, what: str = "storage") -> None:
    """Refuse up front when the announced size already exceeds the remaining quota."""
    if cap is not None and size is not None and size > cap:
        raise QuotaExceeded(f"Image {what} quota exceeded: {size} bytes requested, {cap} left")


def _entry(limit: int, usage: int, *, mib: bool) -> dict[str, int]:
    if mib:
        return {"limit": limit, "usage": math.ceil(usage / MiB)}
    return {"limit": limit, "usage": usage}


async def usage(deps: Deps, ctx: RequestContext) -> dict[str, dict[str, int]]:
    """The caller's project usage in Glance's ``/v2/info/usage`` shape (sizes in MiB,
    rounded up; ``-1`` is unlimited). Registered as the ``usage`` provider of
    resolvers.discovery. Like Glance without unified limits, ``{}`` when no project total
    is limited, or for a caller with no project."""
    deps.policy.enforce("get_usage", ctx.principal)
    if ctx.project_id is None:
        return {}
    q = await project_limits(deps, ctx.project_id)
    if not q.any_limited:
        return {}
    async with deps.db.read() as s:
        u = await project_usage(s, ctx.project_id)
    return {
        "image_size_total": _entry(q.image_size_total, u.stored_bytes, mib=True),
        "image_stage_total": _entry(q.image_stage_total, u.staged_bytes, mib=True),
        "image_count_total": _entry(q.image_count_total, u.image_count, mib=False),
        "image_count_uploading": _entry(q.image_count_uploading, u.uploading, mib=False),
    }
