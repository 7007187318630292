"""Per-project quotas and the usage report behind ``GET /v2/info/usage``.

Limits come from resolvers.limits (``settings.quotas``, or Keystone's unified limits; a
negative value is unlimited; ``image_size_total`` and ``image_stage_total`` in MiB). Counts
per image (tags, properties, members) are checked where those change (resolvers.images,
resolvers.members); this module owns the per-project totals:

* ``image_count``: non-deleted images owned by the project (checked on create);
* ``image_size_total``: bytes of stored data of the project's images - an upload's stream is
  capped at what is left, so an over-quota upload stops at the first byte too many instead
  of after the whole image was written;
* ``image_stage_total``: bytes of staged data, i.e. the project's ``staging`` locations
  (written by ``PUT /stage``, dropped when the import finishes); :func:`stage_cap` gives
  the staging path its cap.

Usage is computed from the catalog on demand (one aggregate query), never kept as a counter
that could drift. Two uploads of one project finishing at the same moment on PostgreSQL may
together exceed the size quota by up to one image; SQLite serialises them exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.context import RequestContext
from glimpse.core.errors import QuotaExceeded
from glimpse.models.tables import Image, ImageLocation
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.limits import project_limits

MiB = 1024 * 1024
STAGED = ("uploading", "importing")
IN_PROGRESS = ("saving", "uploading", "importing")


@dataclass(frozen=True)
class Usage:
    """What one project consumes (bytes and counts)."""

    image_count: int
    stored_bytes: int
    staged_bytes: int
    uploading: int


async def project_usage(s: AsyncSession, project: str, *, exclude: str | None = None) -> Usage:
    """Current consumption of ``project``; ``exclude`` leaves one image out (the one being
    uploaded, whose old size must not count twice). Two queries."""
    size = func.coalesce(col(Image.size), 0)
    staged = col(Image.status).in_(STAGED)
    mine: list[Any] = [Image.owner == project, col(Image.deleted).is_(False)]
    if exclude is not None:
        mine.append(Image.id != exclude)
    stmt = select(
        func.count(),
        func.coalesce(func.sum(case((staged, 0), else_=size)), 0),
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
    """Bytes ``project`` may still store (``None``: unlimited), not counting ``image_id``."""
    if project is None:
        return None
    limit = (await project_limits(deps, project)).image_size_total
    if limit < 0:
        return None
    used = await project_usage(s, project, exclude=image_id)
    return _left(limit, used.stored_bytes)


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
