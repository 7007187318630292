"""The image operation log: every change is recorded with who, when and what."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.context import RequestContext
from glimpse.models.tables import ImageEvent


def record(
    session: AsyncSession,
    ctx: RequestContext | None,
    image_id: str,
    action: str,
    changes: dict[str, Any] | None = None,
) -> None:
    """Add an event to the caller's transaction, so it commits (or not) with the change."""
    principal = ctx.principal if ctx else None
    session.add(
        ImageEvent(
            image_id=image_id,
            action=action,
            user_id=principal.user_id if principal else None,
            project_id=principal.project_id if principal else None,
            request_id=ctx.request_id if ctx else None,
            changes=_jsonable(changes or {}),
        )
    )


def _jsonable(changes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if isinstance(value, tuple | set | frozenset):
            value = sorted(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[key] = value
    return out


async def events_for(
    session: AsyncSession, image_ids: Sequence[str], limit_each: int = 100
) -> dict[str, list[ImageEvent]]:
    """Newest-first events of several images in one query (DataLoader batch)."""
    rows = await session.exec(
        select(ImageEvent)
        .where(col(ImageEvent.image_id).in_(image_ids))
        .order_by(col(ImageEvent.id).desc())
    )
    out: dict[str, list[ImageEvent]] = {i: [] for i in image_ids}
    for ev in rows:
        bucket = out[ev.image_id]
        if len(bucket) < limit_each:
            bucket.append(ev)
    return out
