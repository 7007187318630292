"""The caller's quota usage (Glance's ``/v2/info/usage``).

Limits come from settings; usage is counted in the catalog. Another module may register a
richer provider in ``deps.extras["usage"]`` (an async callable ``(deps, ctx) -> dict``); it
then answers instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import func
from sqlmodel import col, select

from glimpse.core.context import RequestContext
from glimpse.models.tables import Image
from glimpse.resolvers.deps import Deps

MiB = 1024 * 1024
UsageProvider = Callable[[Deps, RequestContext], Awaitable[dict[str, dict[str, int]]]]


async def usage(deps: Deps, ctx: RequestContext) -> dict[str, dict[str, int]]:
    """Per-project limits and current use; empty when no project limit is configured."""
    deps.policy.enforce("get_usage", ctx.principal)
    provider: UsageProvider | None = deps.extras.get("usage")
    if provider is not None:
        return await provider(deps, ctx)
    q = deps.settings.quotas
    if max(q.image_count, q.image_size_total, q.image_stage_total) < 0 or ctx.project_id is None:
        return {}
    async with deps.db.read() as s:
        live = (Image.owner == ctx.project_id, col(Image.deleted).is_(False))
        count, total = (
            await s.exec(select(func.count(), func.coalesce(func.sum(Image.size), 0)).where(*live))
        ).one()
        uploading = (
            await s.exec(
                select(func.count()).where(
                    *live, col(Image.status).in_(("saving", "uploading", "importing"))
                )
            )
        ).one()
    return {
        "image_count_total": {"limit": q.image_count, "usage": int(count)},
        "image_size_total": {"limit": q.image_size_total, "usage": int(total or 0) // MiB},
        "image_stage_total": {"limit": q.image_stage_total, "usage": 0},
        "image_count_uploading": {"limit": q.image_count, "usage": int(uploading or 0)},
    }
