"""What the deployment offers: import methods, stores and the caller's quota usage.

Backs Glance's ``/v2/info/*`` (and can back GraphQL fields later). Facts come from settings;
usage is counted in the catalog. Another module may register a richer usage provider in
``deps.extras["usage"]`` (an async callable ``(deps, ctx) -> dict``); it then answers instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from glimpse.core.context import RequestContext
from glimpse.core.errors import NotFound
from glimpse.models.tables import Image
from glimpse.resolvers.deps import Deps

IMPORT_METHODS = ("glance-direct", "web-download", "copy-image")
MiB = 1024 * 1024
UsageProvider = Callable[[Deps, RequestContext], Awaitable[dict[str, dict[str, int]]]]


@dataclass(frozen=True)
class StoreInfo:
    id: str
    description: str
    default: bool
    read_only: bool
    type: str
    weight: int
    properties: dict[str, Any]


def import_methods(deps: Deps) -> tuple[str, ...]:
    """Import methods this deployment accepts (``extras["import_methods"]`` overrides)."""
    methods: tuple[str, ...] = deps.extras.get("import_methods", IMPORT_METHODS)
    return methods


def stores(deps: Deps, ctx: RequestContext, *, detail: bool = False) -> list[StoreInfo]:
    """The configured stores; only multi-store deployments expose them (else NotFound)."""
    s = deps.settings
    if not s.multi_store:
        raise NotFound("Multiple backend stores are not configured.")
    if detail:
        deps.policy.enforce("stores_info_detail", ctx.principal)
    return [
        StoreInfo(
            id=c.name,
            description=c.description,
            default=c.name == s.default_store,
            read_only=c.read_only,
            type=c.type,
            weight=c.weight,
            properties={},
        )
        for c in s.effective_stores
        if not c.name.startswith("os_glance_")
    ]


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
