"""Reading images: scoped loading, batch relations and the listing, shared by every operation.

Visibility is applied in SQL (glimpse.models.scope) and confirmed by the ``get_image`` rule, so
an image the caller may not see is :class:`NotFound` everywhere, never Forbidden.

Reads on the request hot path (one image, many images by id, a page) run on a direct
connection (glimpse/core/sql.py) with one query each: the image rows and their properties,
tags, stores and the caller's member status come back together. Operations that work inside
an ORM transaction use :func:`load_visible` / :func:`load_for` and :func:`record_of`, which
run the same SQL on the session's connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.context import RequestContext
from glimpse.core.errors import InvalidInput, NotFound
from glimpse.core.session_conn import SessionConn
from glimpse.core.sql import Conn, Row
from glimpse.models import image_sql as sql
from glimpse.models import query as q
from glimpse.models.image_sql import ImageRow
from glimpse.models.scope import Frag, all_of, clause, get_scope, list_scope
from glimpse.models.tables import Image, ImageMember
from glimpse.policy.rules import Target
from glimpse.resolvers import image_rules as rules
from glimpse.resolvers import text
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.list_checks import check_list_query


@dataclass
class ImageRecord:
    """An image with its custom properties, tags and the stores holding its data."""

    image: ImageRow
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


def _not_found(image_id: str) -> NotFound:
    return NotFound(f"No image found with ID {image_id}")


def _target(image: ImageRow | Image, member_status: str | None) -> Target:
    return Target(owner=image.owner, visibility=image.visibility, member_status=member_status)


def _record(dialect: str, row: Row) -> tuple[ImageRecord, str | None]:
    """A result row of :func:`glimpse.models.image_sql.fetch_with_relations`."""
    image = sql.decode(dialect, row)
    rel = sql.decode_relations(dialect, row, rules.HIDDEN_PROPERTIES)
    return ImageRecord(image, rel.properties, rel.tags, rel.stores), rel.member_status


def _by_id(ids: Sequence[str]) -> Frag:
    if len(ids) == 1:
        return "images.id = ? AND NOT images.deleted", (ids[0],)
    return f"images.id IN ({', '.join('?' * len(ids))}) AND NOT images.deleted", tuple(ids)


# ---------------------------------------------------------------------------- one image


async def visible_record(
    conn: Conn, deps: Deps, ctx: RequestContext, image_id: str, *, for_update: bool = False
) -> tuple[ImageRecord, Target]:
    """The image with its relations if the caller may see it; :class:`NotFound` otherwise
    (never 403). ``for_update`` locks the row (PostgreSQL; SQLite writers hold the gate)."""
    try:
        image_id = rules.validate_id(image_id)
    except InvalidInput as exc:
        raise _not_found(image_id) from exc
    where = all_of(_by_id([image_id]), get_scope(ctx.principal))
    rows = await sql.fetch_with_relations(conn, where, ctx.project_id, for_update=for_update)
    if not rows:
        raise _not_found(image_id)
    record, member = _record(conn.dialect, rows[0])
    target = _target(record.image, member)
    if not deps.policy.allows("get_image", ctx.principal, target):
        raise _not_found(image_id)
    return record, target


async def get(deps: Deps, ctx: RequestContext, image_id: str) -> ImageRecord:
    """One image with its details."""
    async with deps.db.reader() as conn:
        record, _ = await visible_record(conn, deps, ctx, image_id)
    return record


async def get_many(deps: Deps, ctx: RequestContext, ids: Sequence[str]) -> list[ImageRecord | None]:
    """Visible images by id in the given order, ``None`` for unknown or invisible ones (used by
    GraphQL ``image(id)`` and federation's batched entity resolution). Applies the SQL scope
    and the ``get_image`` rule, exactly as :func:`get` does; one query in all."""
    valid = {i: _valid_id(i) for i in ids}
    wanted = sorted({v for v in valid.values() if v is not None})
    found: dict[str, ImageRecord] = {}
    if wanted:
        where = all_of(_by_id(wanted), get_scope(ctx.principal))
        async with deps.db.reader() as conn:
            rows = await sql.fetch_with_relations(conn, where, ctx.project_id)
            dialect = conn.dialect
        for row in rows:
            record, member = _record(dialect, row)
            if deps.policy.allows("get_image", ctx.principal, _target(record.image, member)):
                found[record.image.id] = record
    return [found.get(v) if v is not None else None for v in (valid[i] for i in ids)]


def _valid_id(value: str) -> str | None:
    try:
        return rules.validate_id(value)
    except InvalidInput:
        return None


async def fetch_record(conn: Conn, image_id: str) -> ImageRecord:
    """An image and its relations by id, without a visibility check: for operations that
    already authorized the caller (e.g. the answer after an upload)."""
    rows = await sql.fetch_with_relations(conn, _by_id([image_id]), None)
    if not rows:
        raise _not_found(image_id)
    return _record(conn.dialect, rows[0])[0]


async def relations_for(deps: Deps, ids: Sequence[str]) -> dict[str, sql.Relations]:
    """Properties, tags and stores of many images in one query (GraphQL DataLoaders). The
    caller has already seen the images (they come from a scoped read)."""
    out: dict[str, sql.Relations] = {}
    if not ids:
        return out
    async with deps.db.reader() as conn:
        rows = await sql.fetch_with_relations(conn, _by_id(list(dict.fromkeys(ids))), None)
        for row in rows:
            image = sql.decode(conn.dialect, row)
            out[image.id] = sql.decode_relations(conn.dialect, row, rules.HIDDEN_PROPERTIES)
    return out


# ---------------------------------------------------------------------------- ORM sessions


async def member_status(session: AsyncSession, image_id: str, project: str | None) -> str | None:
    if project is None:
        return None
    row = await session.get(ImageMember, (image_id, project))
    return row.status if row else None


async def load_visible(
    session: AsyncSession, deps: Deps, ctx: RequestContext, image_id: str, *, lock: bool = False
) -> tuple[Image, Target]:
    """The image (an ORM object of ``session``) if the caller may see it; :class:`NotFound`
    otherwise (never 403)."""
    try:
        image_id = rules.validate_id(image_id)
    except InvalidInput as exc:
        raise _not_found(image_id) from exc
    stmt = select(Image).where(
        Image.id == image_id, col(Image.deleted).is_(False), clause(get_scope(ctx.principal))
    )
    if lock:
        stmt = stmt.with_for_update()
    image = (await session.exec(stmt)).first()
    if image is None:
        raise _not_found(image_id)
    target = _target(image, await member_status(session, image.id, ctx.project_id))
    if not deps.policy.allows("get_image", ctx.principal, target):
        raise _not_found(image_id)
    return image, target


async def load_for(
    session: AsyncSession, deps: Deps, ctx: RequestContext, image_id: str, action: str
) -> Image:
    """Visible image on which ``action`` is allowed (404 if invisible, 403 if not allowed)."""
    image, target = await load_visible(session, deps, ctx, image_id, lock=True)
    deps.policy.enforce(action, ctx.principal, target)
    return image


async def record_of(session: AsyncSession, image: Image) -> ImageRecord:
    """The record of an image loaded in ``session`` (its relations read in that transaction)."""
    await session.flush()
    return await fetch_record(SessionConn(session), image.id)


# ---------------------------------------------------------------------------- listing


async def list_images(
    deps: Deps, ctx: RequestContext, query: q.ListQuery, *, with_details: bool = True
) -> Page:
    """A page of visible images: filters, sort and keyset pagination compiled into one query
    (the page's relations come with it)."""
    deps.policy.enforce("get_images", ctx.principal)
    # Filter values and cursors are client text: NUL cannot reach PostgreSQL (a 500 there).
    text.check_tree([f.__dict__ for f in query.filters], "filter")
    if query.after is not None:
        text.check_tree(list(query.after.values), "cursor")
    check_list_query(query)  # values the database could not compare (list_checks)
    if query.member_status not in ("pending", "accepted", "rejected", "all"):
        raise InvalidInput(f"Invalid member_status: {query.member_status}")
    if query.visibility not in (None, "public", "private", "shared", "community", "all"):
        raise InvalidInput(f"Invalid visibility: {query.visibility}")
    limit = max(0, min(query.limit, deps.settings.page_max))
    query = replace(query, limit=limit)
    keys = q.effective_sort(query.sort)
    async with deps.db.reader(snapshot=query.with_total) as conn:
        dialect = conn.dialect
        scope = list_scope(
            ctx.principal, query.visibility, query.member_status, sqlite=dialect == "sqlite"
        )
        rows, drive = await sql.page_rows(
            conn, query, keys, scope, ctx.project_id, relations=with_details
        )
        total = None
        if query.with_total:
            count = q.count_sql(scope, query, drive)
            total = int(await conn.fetchval(count[0], count[1]) or 0)
    has_next = len(rows) > limit
    rows = rows[:limit]
    if query.reverse:
        rows.reverse()
    if with_details:
        items = [_record(dialect, r)[0] for r in rows]
    else:
        items = [ImageRecord(sql.decode(dialect, r)) for r in rows]
    return Page(items=items, has_next=has_next, keys=keys, total=total)


async def keyset_for_marker(
    deps: Deps, ctx: RequestContext, marker: str, sort: Sequence[q.SortKey]
) -> q.Keyset:
    """Glance's marker (an image id) as the keyset of that image; invisible marker -> 400."""
    try:
        record = await get(deps, ctx, marker)
    except NotFound as exc:
        raise InvalidInput(f"marker {marker} could not be found.") from exc
    return q.keyset_of(record.image, q.effective_sort(sort))
