"""Reading images: scoped loading, batch relations and the listing, shared by every operation.

Visibility is applied in SQL (glimpse.models.scope) and confirmed by the ``get_image`` rule, so
an image the caller may not see is :class:`NotFound` everywhere, never Forbidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.context import RequestContext
from glimpse.core.errors import InvalidInput, NotFound
from glimpse.models import query as q
from glimpse.models.scope import get_scope, list_scope
from glimpse.models.tables import Image, ImageLocation, ImageMember, ImageProperty, ImageTag
from glimpse.policy.rules import Target
from glimpse.resolvers import image_rules as rules
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.list_checks import check_list_query


@dataclass
class ImageRecord:
    """An image with its custom properties, tags and the stores holding its data."""

    image: Image
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)


@dataclass
class Page:
    items: list[ImageRecord]
    has_next: bool
    keys: tuple[q.SortKey, ...]
    total: int | None = None

    def cursor(self, record: ImageRecord) -> q.Keyset:
        return q.keyset_of(record.image, self.keys)


# ---------------------------------------------------------------------------- loading


async def member_status(session: AsyncSession, image_id: str, project: str | None) -> str | None:
    if project is None:
        return None
    row = await session.get(ImageMember, (image_id, project))
    return row.status if row else None


async def load_visible(
    session: AsyncSession, deps: Deps, ctx: RequestContext, image_id: str, *, lock: bool = False
) -> tuple[Image, Target]:
    """The image if the caller may see it; :class:`NotFound` otherwise (never 403)."""
    try:
        image_id = rules.validate_id(image_id)
    except InvalidInput as exc:
        raise NotFound(f"No image found with ID {image_id}") from exc
    stmt = select(Image).where(
        Image.id == image_id, col(Image.deleted).is_(False), get_scope(ctx.principal)
    )
    if lock:
        stmt = stmt.with_for_update()
    image = (await session.exec(stmt)).first()
    if image is None:
        raise NotFound(f"No image found with ID {image_id}")
    target = Target(
        owner=image.owner,
        visibility=image.visibility,
        member_status=await member_status(session, image.id, ctx.project_id),
    )
    if not deps.policy.allows("get_image", ctx.principal, target):
        raise NotFound(f"No image found with ID {image_id}")
    return image, target


async def load_for(
    session: AsyncSession, deps: Deps, ctx: RequestContext, image_id: str, action: str
) -> Image:
    """Visible image on which ``action`` is allowed (404 if invisible, 403 if not allowed)."""
    image, target = await load_visible(session, deps, ctx, image_id, lock=True)
    deps.policy.enforce(action, ctx.principal, target)
    return image


async def details(session: AsyncSession, images: Sequence[Image]) -> list[ImageRecord]:
    """Attach properties, tags and stores to many images with three queries in all."""
    ids = [i.id for i in images]
    props = await properties_for(session, ids)
    tags = await tags_for(session, ids)
    stores = await stores_for(session, ids)
    return [ImageRecord(i, props[i.id], tags[i.id], stores[i.id]) for i in images]


async def properties_for(session: AsyncSession, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {i: {} for i in ids}
    if ids:
        # Columns, not entities: a page of 100 images has ~1000 properties, and building ORM
        # objects for rows nobody writes back was the largest cost of listing them.
        rows = await session.exec(
            select(ImageProperty.image_id, ImageProperty.name, ImageProperty.value).where(
                col(ImageProperty.image_id).in_(ids)
            )
        )
        hidden = rules.HIDDEN_PROPERTIES
        for image_id, name, value in rows:
            if name not in hidden:
                out[image_id][name] = value
    return out


async def tags_for(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        rows = await session.exec(
            select(ImageTag.image_id, ImageTag.value)
            .where(col(ImageTag.image_id).in_(ids))
            .order_by(col(ImageTag.value))
        )
        for image_id, value in rows:
            out[image_id].append(value)
    return out


async def stores_for(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        rows = await session.exec(
            select(ImageLocation)
            .where(col(ImageLocation.image_id).in_(ids), ImageLocation.status == "active")
            .order_by(col(ImageLocation.id))
        )
        for loc in rows:
            if loc.store not in out[loc.image_id]:
                out[loc.image_id].append(loc.store)
    return out


async def record_of(session: AsyncSession, image: Image) -> ImageRecord:
    return (await details(session, [image]))[0]


# ---------------------------------------------------------------------------- reads


async def get(deps: Deps, ctx: RequestContext, image_id: str) -> ImageRecord:
    """One image with its details."""
    async with deps.db.read() as s:
        image, _ = await load_visible(s, deps, ctx, image_id)
        return await record_of(s, image)


async def get_many(deps: Deps, ctx: RequestContext, ids: Sequence[str]) -> list[Image | None]:
    """Visible images by id in the given order, ``None`` for unknown or invisible ones (used by
    GraphQL ``image(id)`` and federation's batched entity resolution). Applies the SQL scope
    and the ``get_image`` rule, exactly as :func:`get` does; two queries in all."""
    valid = {i: _valid_id(i) for i in ids}
    wanted = sorted({v for v in valid.values() if v is not None})
    found: dict[str, Image] = {}
    if wanted:
        async with deps.db.read() as s:
            rows = await s.exec(
                select(Image).where(
                    col(Image.id).in_(wanted),
                    col(Image.deleted).is_(False),
                    get_scope(ctx.principal),
                )
            )
            found = {r.id: r for r in rows}
            statuses = await _member_statuses(s, list(found), ctx.project_id)
        found = {
            i: img
            for i, img in found.items()
            if deps.policy.allows("get_image", ctx.principal, _target(img, statuses.get(i)))
        }
    return [found.get(v) if v is not None else None for v in (valid[i] for i in ids)]


def _valid_id(value: str) -> str | None:
    try:
        return rules.validate_id(value)
    except InvalidInput:
        return None


def _target(image: Image, status: str | None) -> Target:
    return Target(owner=image.owner, visibility=image.visibility, member_status=status)


async def _member_statuses(
    s: AsyncSession, image_ids: Sequence[str], project: str | None
) -> dict[str, str]:
    """The caller's member status on each of ``image_ids`` (absent: not a member)."""
    if project is None or not image_ids:
        return {}
    rows = await s.exec(
        select(ImageMember).where(
            col(ImageMember.image_id).in_(image_ids), ImageMember.member == project
        )
    )
    return {m.image_id: m.status for m in rows}


async def list_images(
    deps: Deps, ctx: RequestContext, query: q.ListQuery, *, with_details: bool = True
) -> Page:
    """A page of visible images: filters, sort and keyset pagination compiled into one query."""
    deps.policy.enforce("get_images", ctx.principal)
    check_list_query(query)  # values the database could not compare (list_checks)
    if query.member_status not in ("pending", "accepted", "rejected", "all"):
        raise InvalidInput(f"Invalid member_status: {query.member_status}")
    if query.visibility not in (None, "public", "private", "shared", "community", "all"):
        raise InvalidInput(f"Invalid visibility: {query.visibility}")
    limit = max(0, min(query.limit, deps.settings.page_max))
    query = replace(query, limit=limit)
    keys = q.effective_sort(query.sort)
    scope = list_scope(ctx.principal, query.visibility, query.member_status)
    async with deps.db.read() as s:
        rows = list((await s.exec(q.page_statement(scope, query, keys))).all())
        has_next = len(rows) > limit
        rows = rows[:limit]
        if query.reverse:
            rows.reverse()
        total = None
        if query.with_total:
            total = int(await s.scalar(q.count_statement(scope, query)) or 0)
        items = await details(s, rows) if with_details else [ImageRecord(r) for r in rows]
    return Page(items=items, has_next=has_next, keys=keys, total=total)


async def keyset_for_marker(
    deps: Deps, ctx: RequestContext, marker: str, sort: Sequence[q.SortKey]
) -> q.Keyset:
    """Glance's marker (an image id) as the keyset of that image; invisible marker -> 400."""
    try:
        async with deps.db.read() as s:
            image, _ = await load_visible(s, deps, ctx, marker)
    except NotFound as exc:
        raise InvalidInput(f"marker {marker} could not be found.") from exc
    return q.keyset_of(image, q.effective_sort(sort))
