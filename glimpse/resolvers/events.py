"""The image operation log: every change is recorded with who, when and what."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.sql import Conn
from glimpse.models import image_sql
from glimpse.models.tables import Image, ImageEvent


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


def entry(
    ctx: RequestContext | None, image_id: str, action: str, changes: dict[str, Any] | None = None
) -> image_sql.EventRow:
    """The operation-log row for a change (see :func:`record` for the ORM form)."""
    principal = ctx.principal if ctx else None
    return image_sql.EventRow(
        image_id=image_id,
        at=utcnow(),
        action=action,
        user_id=principal.user_id if principal else None,
        project_id=principal.project_id if principal else None,
        request_id=ctx.request_id if ctx else None,
        changes=_jsonable(changes or {}),
    )


async def write(
    conn: Conn,
    ctx: RequestContext | None,
    image_id: str,
    action: str,
    changes: dict[str, Any] | None = None,
) -> None:
    """:func:`record` for operations on a direct connection (the same row, same shape)."""
    await image_sql.insert_event(conn, entry(ctx, image_id, action, changes))


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


MEMBER_ACTIONS = frozenset({"add_member", "update_member", "remove_member"})


def visible_to(
    ctx: RequestContext, owner: str | None, rows: Sequence[ImageEvent]
) -> list[ImageEvent]:
    """The events of one image a caller may read: all of them for admins and the owner
    project; for anyone else, member changes only about the caller's own project (REST's
    members API shows a member only its own record, the log must not show more)."""
    if ctx.is_admin or (ctx.project_id is not None and ctx.project_id == owner):
        return list(rows)
    return [
        ev
        for ev in rows
        if ev.action not in MEMBER_ACTIONS or ev.changes.get("member") == ctx.project_id
    ]


async def events_visible(
    session: AsyncSession, ctx: RequestContext, image_ids: Sequence[str], limit_each: int = 100
) -> dict[str, list[ImageEvent]]:
    """Newest-first events of several images, filtered by :func:`visible_to` before the
    per-image limit is applied (DataLoader batch; two queries)."""
    owners = dict(
        (
            await session.exec(select(Image.id, Image.owner).where(col(Image.id).in_(image_ids)))
        ).all()
    )
    found = await events_for(session, image_ids, limit_each=2**31)
    return {i: visible_to(ctx, owners.get(i), rows)[:limit_each] for i, rows in found.items()}
