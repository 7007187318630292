"""Image sharing: the owner adds projects as members; each member accepts or rejects.

Only ``shared`` images have members. The owner sees every member record, a member project
sees only its own, nobody else sees any (GraphQL's ``Image.members`` and REST agree).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import Conflict, Forbidden, InvalidInput, NotFound, QuotaExceeded
from glimpse.models.status import MEMBER_STATUSES
from glimpse.models.tables import Image, ImageMember
from glimpse.policy.rules import Target
from glimpse.resolvers import events, text
from glimpse.resolvers.conflicts import flush_or_conflict
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.images import load_visible


def _require_shared(image: Image) -> None:
    if image.visibility != "shared":
        raise Forbidden(
            f"Only shared images have members (image visibility is '{image.visibility}')."
        )


def _sees_all(ctx: RequestContext, image: Image) -> bool:
    return ctx.is_admin or (ctx.project_id is not None and ctx.project_id == image.owner)


async def _load(
    s: AsyncSession, deps: Deps, ctx: RequestContext, image_id: str
) -> tuple[Image, Target]:
    image, target = await load_visible(s, deps, ctx, image_id, lock=True)
    return image, target


async def list_members(deps: Deps, ctx: RequestContext, image_id: str) -> list[ImageMember]:
    async with deps.db.read() as s:
        image, target = await _load(s, deps, ctx, image_id)
        _require_shared(image)
        deps.policy.enforce("get_members", ctx.principal, target)
        stmt = select(ImageMember).where(ImageMember.image_id == image.id)
        if not _sees_all(ctx, image):
            stmt = stmt.where(ImageMember.member == ctx.project_id)
        return list((await s.exec(stmt.order_by(col(ImageMember.created_at)))).all())


async def get_member(deps: Deps, ctx: RequestContext, image_id: str, member: str) -> ImageMember:
    text.check(member, "member id")
    async with deps.db.read() as s:
        image, _target = await _load(s, deps, ctx, image_id)
        row = await s.get(ImageMember, (image.id, member))
        visible = (
            row is not None
            and image.visibility == "shared"
            and (_sees_all(ctx, image) or member == ctx.project_id)
        )
        if not visible or row is None:
            raise NotFound(f"Member {member} not found on image {image.id}")
        return row


async def add_member(deps: Deps, ctx: RequestContext, image_id: str, member: str) -> ImageMember:
    if not isinstance(member, str) or not member.strip() or len(member) > 255:
        raise InvalidInput("'member' must be a non-empty project id")
    text.check(member, "member id")
    async with deps.db.begin() as s:
        image, target = await _load(s, deps, ctx, image_id)
        deps.policy.enforce("add_member", ctx.principal, target)
        _require_shared(image)
        if await s.get(ImageMember, (image.id, member)) is not None:
            raise Conflict(f"Member {member} already exists on image {image.id}")
        limit = deps.settings.quotas.members_per_image
        count = (
            await s.exec(
                select(func.count())
                .select_from(ImageMember)
                .where(ImageMember.image_id == image.id)
            )
        ).one()
        if 0 <= limit <= count:
            raise QuotaExceeded(f"Maximum number of members ({limit}) reached")
        row = ImageMember(image_id=image.id, member=member)
        s.add(row)
        await flush_or_conflict(s, f"Member {member} already exists on image {image.id}")
        events.record(s, ctx, image.id, "add_member", {"member": member, "status": "pending"})
        return row


async def update_member(
    deps: Deps, ctx: RequestContext, image_id: str, member: str, status: str
) -> ImageMember:
    text.check(member, "member id")
    if status not in MEMBER_STATUSES:
        raise InvalidInput(
            f"Invalid member status {status!r} (allowed: {', '.join(MEMBER_STATUSES)})"
        )
    async with deps.db.begin() as s:
        image, _ = await _load(s, deps, ctx, image_id)
        row = await s.get(ImageMember, (image.id, member))
        if row is None or not (_sees_all(ctx, image) or member == ctx.project_id):
            raise NotFound(f"Member {member} not found on image {image.id}")
        deps.policy.enforce(
            "modify_member", ctx.principal, Target(owner=image.owner, member_id=member)
        )
        row.status, row.updated_at = status, utcnow()
        s.add(row)
        events.record(s, ctx, image.id, "update_member", {"member": member, "status": status})
        return row


async def remove_member(deps: Deps, ctx: RequestContext, image_id: str, member: str) -> None:
    text.check(member, "member id")
    async with deps.db.begin() as s:
        image, target = await _load(s, deps, ctx, image_id)
        _require_shared(image)  # Glance refuses before looking the member up (403, not 404)
        row = await s.get(ImageMember, (image.id, member))
        if row is None or not (_sees_all(ctx, image) or member == ctx.project_id):
            raise NotFound(f"Member {member} not found on image {image.id}")
        deps.policy.enforce("delete_member", ctx.principal, target)
        await s.delete(row)
        events.record(s, ctx, image.id, "remove_member", {"member": member})


async def members_for(
    deps: Deps, ctx: RequestContext, image_ids: Sequence[str]
) -> dict[str, list[ImageMember]]:
    """Member records of many images that the caller may see, in one query (DataLoader).

    The same decision as :func:`list_members`: only shared images, only when ``get_members``
    allows it, and a non-owner sees only its own record. Where REST would answer 403 or 404
    the GraphQL field is simply empty.
    """
    out: dict[str, list[ImageMember]] = {i: [] for i in image_ids}
    if not image_ids or not ctx.principal.authenticated:
        return out
    async with deps.db.read() as s:
        stmt = (
            select(ImageMember, Image)
            .join(Image, col(Image.id) == col(ImageMember.image_id))
            .where(col(ImageMember.image_id).in_(image_ids), Image.visibility == "shared")
            .order_by(col(ImageMember.created_at))
        )
        rows = list((await s.exec(stmt)).all())
    mine = {row.image_id: row.status for row, _ in rows if row.member == ctx.project_id}
    for row, image in rows:
        target = Target(
            owner=image.owner, visibility=image.visibility, member_status=mine.get(image.id)
        )
        if not deps.policy.allows("get_members", ctx.principal, target):
            continue
        if _sees_all(ctx, image) or row.member == ctx.project_id:
            out[row.image_id].append(row)
    return out
