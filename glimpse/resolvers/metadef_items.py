"""Objects, properties and tags inside a metadef namespace.

Each operation loads the namespace with the same scope and policy as the namespace itself
(glimpse.resolvers.metadefs.load): unreadable namespace -> NotFound, write without
``modify_metadef`` -> Forbidden. Names are unique per namespace (duplicates -> Conflict).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import delete as sa_delete
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import Conflict, InvalidInput, NotFound
from glimpse.models.metadef_tables import (
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefTag,
)
from glimpse.resolvers import metadef_checks as checks
from glimpse.resolvers import metadefs, text
from glimpse.resolvers.conflicts import flush_or_conflict
from glimpse.resolvers.deps import Deps

Row = TypeVar("Row", MetadefObject, MetadefProperty, MetadefTag)
KIND = {MetadefObject: "object", MetadefProperty: "property", MetadefTag: "tag"}


async def _rows(s: AsyncSession, model: type[Row], ns: MetadefNamespace) -> list[Row]:
    stmt = select(model).where(model.namespace_id == ns.id).order_by(col(model.id))
    return list((await s.exec(stmt)).all())


async def _find(s: AsyncSession, model: type[Row], ns: MetadefNamespace, name: str) -> Row | None:
    text.check(name, f"{KIND[model]} name")
    stmt = select(model).where(model.namespace_id == ns.id, model.name == name)
    return (await s.exec(stmt)).first()


async def _get(s: AsyncSession, model: type[Row], ns: MetadefNamespace, name: str) -> Row:
    row = await _find(s, model, ns, name)
    if row is None:
        raise NotFound(f"Metadata definition {KIND[model]} {name} not found in {ns.namespace}")
    return row


async def _free(s: AsyncSession, model: type[Row], ns: MetadefNamespace, name: str) -> None:
    if await _find(s, model, ns, name) is not None:
        raise Conflict(_taken(model, ns, name))


def _taken(model: type[SQLModel], ns: MetadefNamespace, name: str) -> str:
    return f"A metadata definition {KIND[model]} {name} already exists in {ns.namespace}"


async def _stored(s: AsyncSession, model: type[SQLModel], ns: MetadefNamespace, name: str) -> None:
    """Write now: a name taken by a concurrent request is a Conflict, not a 500."""
    await flush_or_conflict(s, _taken(model, ns, name))


async def _list(deps: Deps, ctx: RequestContext, model: type[Row], namespace: str) -> list[Row]:
    async with deps.db.read() as s:
        return await _rows(s, model, await metadefs.load(s, deps, ctx, namespace))


async def _one(deps: Deps, ctx: RequestContext, model: type[Row], namespace: str, name: str) -> Row:
    async with deps.db.read() as s:
        return await _get(s, model, await metadefs.load(s, deps, ctx, namespace), name)


async def _delete(
    deps: Deps, ctx: RequestContext, model: type[SQLModel], namespace: str, name: str | None
) -> None:
    """Delete one item, or all of a kind (refused in a protected namespace)."""
    text.check(name, f"{KIND[model]} name")
    async with deps.db.begin() as s:
        ns = await metadefs.load(s, deps, ctx, namespace, write=True)
        table = model.__table__.c  # type: ignore[attr-defined]
        stmt = sa_delete(model).where(table.namespace_id == ns.id)
        if name is None:
            metadefs.require_unprotected(ns, f"{KIND[model]} definitions")
        else:
            stmt = stmt.where(table.name == name)
        result = await s.exec(stmt)
        if name is not None and not result.rowcount:
            raise NotFound(f"Metadata definition {KIND[model]} {name} not found in {namespace}")
        await metadefs.touch(s, ns)


# ---------------------------------------------------------------------------- objects


async def list_objects(deps: Deps, ctx: RequestContext, namespace: str) -> list[MetadefObject]:
    return await _list(deps, ctx, MetadefObject, namespace)


async def get_object(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> MetadefObject:
    return await _one(deps, ctx, MetadefObject, namespace, name)


async def create_object(
    deps: Deps, ctx: RequestContext, namespace: str, obj: checks.ObjectInput
) -> MetadefObject:
    values = checks.object_row(obj)
    async with deps.db.begin() as s:
        ns = await metadefs.load(s, deps, ctx, namespace, write=True)
        await _free(s, MetadefObject, ns, obj.name)
        assert ns.id is not None
        row = MetadefObject(namespace_id=ns.id, **values)
        s.add(row)
        await metadefs.touch(s, ns)
        await _stored(s, MetadefObject, ns, obj.name)
        return row


async def update_object(
    deps: Deps, ctx: RequestContext, namespace: str, name: str, obj: checks.ObjectInput
) -> MetadefObject:
    """Replace an object's definition (renaming onto a taken name is a conflict)."""
    values = checks.object_row(obj)
    async with deps.db.begin() as s:
        ns = await metadefs.load(s, deps, ctx, namespace, write=True)
        row = await _get(s, MetadefObject, ns, name)
        if obj.name != name:
            await _free(s, MetadefObject, ns, obj.name)
        _assign(row, values)
        s.add(row)
        await _stored(s, MetadefObject, ns, obj.name)
        return row


def _assign(row: SQLModel, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = utcnow()


async def delete_object(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> None:
    await _delete(deps, ctx, MetadefObject, namespace, name)


async def delete_objects(deps: Deps, ctx: RequestContext, namespace: str) -> None:
    await _delete(deps, ctx, MetadefObject, namespace, None)


# ---------------------------------------------------------------------------- properties


async def list_properties(deps: Deps, ctx: RequestContext, namespace: str) -> list[MetadefProperty]:
    return await _list(deps, ctx, MetadefProperty, namespace)


async def get_property(
    deps: Deps, ctx: RequestContext, namespace: str, name: str, resource_type: str | None = None
) -> MetadefProperty:
    """One property; with ``resource_type`` the name may carry that type's prefix."""
    async with deps.db.read() as s:
        ns = await metadefs.load(s, deps, ctx, namespace)
        if resource_type:
            rec = metadefs.NamespaceRecord(
                ns, (await metadefs.associations_for(s, [ns.id or 0]))[ns.id or 0]
            )
            prefix = metadefs.prefix_for(rec, resource_type)
            if prefix and name.startswith(prefix):
                name = name[len(prefix) :]
        return await _get(s, MetadefProperty, ns, name)


async def create_property(
    deps: Deps, ctx: RequestContext, namespace: str, name: str, schema: dict[str, Any]
) -> MetadefProperty:
    values = checks.property_row(name, schema)
    async with deps.db.begin() as s:
        ns = await metadefs.load(s, deps, ctx, namespace, write=True)
        await _free(s, MetadefProperty, ns, name)
        assert ns.id is not None
        row = MetadefProperty(namespace_id=ns.id, **values)
        s.add(row)
        await metadefs.touch(s, ns)
        await _stored(s, MetadefProperty, ns, name)
        return row


async def update_property(
    deps: Deps,
    ctx: RequestContext,
    namespace: str,
    name: str,
    new_name: str,
    schema: dict[str, Any],
) -> MetadefProperty:
    values = checks.property_row(new_name, schema)
    async with deps.db.begin() as s:
        ns = await metadefs.load(s, deps, ctx, namespace, write=True)
        row = await _get(s, MetadefProperty, ns, name)
        if new_name != name:
            await _free(s, MetadefProperty, ns, new_name)
        _assign(row, values)
        s.add(row)
        await _stored(s, MetadefProperty, ns, new_name)
        return row


async def delete_property(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> None:
    await _delete(deps, ctx, MetadefProperty, namespace, name)


async def delete_properties(deps: Deps, ctx: RequestContext, namespace: str) -> None:
    await _delete(deps, ctx, MetadefProperty, namespace, None)


# ---------------------------------------------------------------------------- tags


async def list_tags(deps: Deps, ctx: RequestContext, namespace: str) -> list[MetadefTag]:
    return await _list(deps, ctx, MetadefTag, namespace)


async def get_tag(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> MetadefTag:
    return await _one(deps, ctx, MetadefTag, namespace, name)


async def create_tag(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> MetadefTag:
    name = checks.tag_name(name)
    async with deps.db.begin() as s:
        ns = await metadefs.load(s, deps, ctx, namespace, write=True)
        await _free(s, MetadefTag, ns, name)
        assert ns.id is not None
        row = MetadefTag(namespace_id=ns.id, name=name)
        s.add(row)
        await metadefs.touch(s, ns)
        await _stored(s, MetadefTag, ns, name)
        return row


async def create_tags(
    deps: Deps, ctx: RequestContext, namespace: str, names: Sequence[str], *, append: bool
) -> list[MetadefTag]:
    """Set the namespace's tags to ``names`` or, with ``append``, add them to the existing
    ones. Duplicates (in the request, or with kept tags when appending) are a conflict."""
    clean = [checks.tag_name(n) for n in names]
    if len(set(clean)) != len(clean):
        raise Conflict("Duplicate tag names in the request")
    async with deps.db.begin() as s:
        ns = await metadefs.load(s, deps, ctx, namespace, write=True)
        assert ns.id is not None
        if append:
            existing = {t.name for t in await _rows(s, MetadefTag, ns)}
            taken = sorted(existing & set(clean))
            if taken:
                raise Conflict(f"Tag(s) already exist in {namespace}: {', '.join(taken)}")
        else:
            await s.exec(sa_delete(MetadefTag).where(col(MetadefTag.namespace_id) == ns.id))
        rows = [MetadefTag(namespace_id=ns.id, name=n) for n in clean]
        s.add_all(rows)
        await metadefs.touch(s, ns)
        await flush_or_conflict(s, f"Tag(s) already exist in {namespace}")
        return rows


async def rename_tag(
    deps: Deps, ctx: RequestContext, namespace: str, name: str, new_name: str
) -> MetadefTag:
    new_name = checks.tag_name(new_name)
    async with deps.db.begin() as s:
        ns = await metadefs.load(s, deps, ctx, namespace, write=True)
        row = await _get(s, MetadefTag, ns, name)
        if new_name != name:
            await _free(s, MetadefTag, ns, new_name)
        _assign(row, {"name": new_name})
        s.add(row)
        await _stored(s, MetadefTag, ns, new_name)
        return row


async def delete_tag(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> None:
    await _delete(deps, ctx, MetadefTag, namespace, name)


async def delete_tags(deps: Deps, ctx: RequestContext, namespace: str) -> None:
    await _delete(deps, ctx, MetadefTag, namespace, None)


def require_name(body: Any) -> str:
    """The ``name`` of a JSON body (both APIs name new items this way)."""
    if not isinstance(body, dict) or "name" not in body:
        raise InvalidInput("'name' is required")
    return checks.tag_name(body["name"])
