"""Metadata definition namespaces, resource types and their associations.

Namespaces are read by admins, and by readers for public namespaces and their own project's;
another project's private namespace does not exist for the caller (NotFound). Every write is
the ``modify_metadef`` rule (admin-only by default). Objects, properties and tags live in
glimpse.resolvers.metadef_items; file import/export and image views in metadef_catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, exists, or_, true, tuple_
from sqlalchemy import delete as sa_delete
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from glimpse.models.metadef_tables import (
    MetadefAssociation,
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)
from glimpse.models.query import Keyset
from glimpse.policy.rules import Target
from glimpse.resolvers import metadef_checks as checks
from glimpse.resolvers import text
from glimpse.resolvers.conflicts import flush_or_conflict, inserted
from glimpse.resolvers.deps import Deps

N = MetadefNamespace.__table__.c  # type: ignore[attr-defined]
A = MetadefAssociation.__table__.c  # type: ignore[attr-defined]
RT = MetadefResourceType.__table__  # type: ignore[attr-defined]
R = RT.c
SORT_KEYS = ("created_at", "updated_at", "namespace", "id")


@dataclass
class Association:
    """A namespace/resource-type association as both APIs show it."""

    name: str
    prefix: str | None
    properties_target: str | None
    created_at: Any = None
    updated_at: Any = None


@dataclass
class NamespaceRecord:
    """A namespace with its associations; ``full`` records carry the contents too."""

    ns: MetadefNamespace
    associations: list[Association] = field(default_factory=list)
    properties: list[MetadefProperty] = field(default_factory=list)
    objects: list[MetadefObject] = field(default_factory=list)
    tags: list[MetadefTag] = field(default_factory=list)


@dataclass
class NamespaceInput:
    """Namespace attributes plus optional embedded contents (Glance's POST body)."""

    values: dict[str, Any]
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: list[checks.ObjectInput] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    associations: list[Association] = field(default_factory=list)


@dataclass(frozen=True)
class NamespaceQuery:
    """A namespace list request: filters, one sort key, keyset position and page size."""

    limit: int = 25
    sort_key: str = "created_at"
    sort_dir: Literal["asc", "desc"] = "desc"
    visibility: str | None = None
    resource_types: tuple[str, ...] = ()
    after: Keyset | None = None


@dataclass
class NamespacePage:
    items: list[NamespaceRecord]
    has_next: bool
    sort_key: str

    def cursor(self, rec: NamespaceRecord) -> Keyset:
        return keyset_of(rec.ns, self.sort_key)


# ---------------------------------------------------------------------------- scope and loading


def scope(ctx: RequestContext) -> ColumnElement[bool]:
    """Namespaces the caller may read: all for admins, else public ones and its project's."""
    if ctx.is_admin:
        return true()
    own = N.owner == ctx.project_id if ctx.project_id is not None else None
    public = N.visibility == "public"
    return or_(public, own) if own is not None else public


def target_of(ns: MetadefNamespace) -> Target:
    return Target(owner=ns.owner, visibility=ns.visibility)


async def load(
    s: AsyncSession, deps: Deps, ctx: RequestContext, name: str, *, write: bool = False
) -> MetadefNamespace:
    """The namespace if the caller may read it (else NotFound); ``write`` also checks
    ``modify_metadef`` (Forbidden on a visible namespace)."""
    text.check(name, "namespace name")
    stmt = select(MetadefNamespace).where(N.namespace == name, scope(ctx))
    if write:
        stmt = stmt.with_for_update()
    ns = (await s.exec(stmt)).first()
    if ns is None or not deps.policy.allows("get_metadef_namespace", ctx.principal, target_of(ns)):
        raise NotFound(f"Metadata definition namespace={name} was not found.")
    if write:
        deps.policy.enforce("modify_metadef", ctx.principal, target_of(ns))
    return ns


async def touch(s: AsyncSession, ns: MetadefNamespace) -> None:
    ns.updated_at = utcnow()
    s.add(ns)


async def associations_for(
    s: AsyncSession, namespace_ids: Sequence[int]
) -> dict[int, list[Association]]:
    """Associations of many namespaces in one query, in the order they were made."""
    out: dict[int, list[Association]] = {i: [] for i in namespace_ids}
    if not namespace_ids:
        return out
    stmt = (
        sa_select(A.namespace_id, R.name, A.prefix, A.properties_target, A.created_at, A.updated_at)
        .join(RT, R.id == A.resource_type_id)
        .where(A.namespace_id.in_(namespace_ids))
        .order_by(A.id)
    )
    for nid, *rest in (await s.exec(stmt)).all():  # type: ignore[call-overload]
        out[nid].append(Association(*rest))
    return out


async def contents(s: AsyncSession, ns: MetadefNamespace) -> NamespaceRecord:
    """The namespace with associations, properties, objects and tags (four small queries)."""
    assert ns.id is not None
    rec = NamespaceRecord(ns, (await associations_for(s, [ns.id]))[ns.id])
    for model, attr in ((MetadefProperty, "properties"), (MetadefObject, "objects")):
        rows = await s.exec(
            select(model).where(model.namespace_id == ns.id).order_by(col(model.id))
        )
        setattr(rec, attr, list(rows.all()))
    tags = await s.exec(
        select(MetadefTag).where(MetadefTag.namespace_id == ns.id).order_by(col(MetadefTag.id))
    )
    rec.tags = list(tags.all())
    return rec


# ---------------------------------------------------------------------------- namespaces


async def get_namespace(deps: Deps, ctx: RequestContext, name: str) -> NamespaceRecord:
    """One namespace with everything in it."""
    async with deps.db.read() as s:
        return await contents(s, await load(s, deps, ctx, name))


async def get_namespaces(
    deps: Deps, ctx: RequestContext, names: Sequence[str]
) -> list[NamespaceRecord | None]:
    """Readable namespaces by name with their associations, ``None`` for the others
    (federation entity batches). Two queries."""
    for name in names:
        text.check(name, "namespace name")
    async with deps.db.read() as s:
        rows = await s.exec(
            select(MetadefNamespace).where(col(MetadefNamespace.namespace).in_(names), scope(ctx))
        )
        found = {r.namespace: r for r in rows.all()}
        assoc = await associations_for(s, [r.id for r in found.values() if r.id is not None])
    return [
        NamespaceRecord(ns, assoc[ns.id or 0]) if (ns := found.get(n)) is not None else None
        for n in names
    ]


def keyset_of(ns: MetadefNamespace, sort_key: str) -> Keyset:
    return Keyset((getattr(ns, sort_key), ns.id))


async def keyset_for_marker(deps: Deps, ctx: RequestContext, marker: str, sort_key: str) -> Keyset:
    """Glance's marker (a namespace name) as a keyset; an unknown marker is a 400."""
    try:
        async with deps.db.read() as s:
            ns = await load(s, deps, ctx, marker)
    except NotFound as exc:
        raise InvalidInput(f"Namespace marker {marker} could not be found.") from exc
    return keyset_of(ns, sort_key)


def _list_conditions(ctx: RequestContext, q: NamespaceQuery) -> list[ColumnElement[bool]]:
    conds = [scope(ctx)]
    if q.visibility is not None:
        if q.visibility not in ("public", "private"):
            raise InvalidInput(f"Invalid visibility value: {q.visibility}")
        conds.append(N.visibility == q.visibility)
    if q.resource_types:
        for name in q.resource_types:
            text.check(name, "resource type name")
        linked = (
            select(A.id)
            .join(RT, R.id == A.resource_type_id)
            .where(A.namespace_id == N.id, R.name.in_(q.resource_types))
        )
        conds.append(exists(linked))
    if q.after is not None:
        if len(q.after.values) != 2:
            raise InvalidInput("Cursor does not match the sort order")
        pair = tuple_(N[q.sort_key], N.id)
        value = tuple_(*q.after.values)
        conds.append(pair > value if q.sort_dir == "asc" else pair < value)
    return conds


async def list_namespaces(deps: Deps, ctx: RequestContext, q: NamespaceQuery) -> NamespacePage:
    """A page of readable namespaces with their associations; keyset paging, no post-filter."""
    deps.policy.enforce("get_metadef_namespaces", ctx.principal)
    if q.sort_key not in SORT_KEYS:
        raise InvalidInput(f"Invalid sort key: {q.sort_key}")
    if q.sort_dir not in ("asc", "desc"):
        raise InvalidInput(f"Invalid sort direction: {q.sort_dir}")
    limit = max(0, min(q.limit, deps.settings.page_max))
    key, ident = N[q.sort_key], N.id
    order = [key.asc(), ident.asc()] if q.sort_dir == "asc" else [key.desc(), ident.desc()]
    stmt = (
        select(MetadefNamespace)
        .where(and_(*_list_conditions(ctx, q)))
        .order_by(*order)
        .limit(limit + 1)
    )
    async with deps.db.read() as s:
        rows = list((await s.exec(stmt)).all())
        has_next, rows = len(rows) > limit, rows[:limit]
        assoc = await associations_for(s, [r.id or 0 for r in rows])
    items = [NamespaceRecord(r, assoc[r.id or 0]) for r in rows]
    return NamespacePage(items, has_next, q.sort_key)


async def create_namespace(
    deps: Deps, ctx: RequestContext, data: NamespaceInput
) -> NamespaceRecord:
    """A new namespace (owned by the caller's project unless an owner is given) and contents."""
    deps.policy.enforce("modify_metadef", ctx.principal)
    values = checks.namespace_values(data.values, creating=True)
    values.setdefault("owner", ctx.project_id)
    async with deps.db.begin() as s:
        await _check_free_name(s, values["namespace"])
        now = utcnow()
        ns = MetadefNamespace(**values, created_at=now, updated_at=now)
        s.add(ns)
        await flush_or_conflict(s, _taken(values["namespace"]))
        await add_contents(s, ns, data)
        return await contents(s, ns)


async def _check_free_name(s: AsyncSession, name: str) -> None:
    found = (await s.exec(select(N.id).where(N.namespace == name))).first()
    if found is not None:
        raise Conflict(_taken(name))


def _taken(name: str) -> str:
    return f"Metadata definition namespace={name} already exists."


async def add_contents(s: AsyncSession, ns: MetadefNamespace, data: NamespaceInput) -> None:
    """Insert embedded properties, objects, tags and associations (create and import)."""
    assert ns.id is not None
    for name, schema in data.properties.items():
        s.add(MetadefProperty(namespace_id=ns.id, **checks.property_row(name, schema)))
    seen: set[str] = set()
    for obj in data.objects:
        if obj.name in seen:
            raise Conflict(f"Duplicate object {obj.name} in namespace {ns.namespace}")
        seen.add(obj.name)
        s.add(MetadefObject(namespace_id=ns.id, **checks.object_row(obj)))
    if len(set(data.tags)) != len(data.tags):
        raise Conflict(f"Duplicate tags in namespace {ns.namespace}")
    s.add_all([MetadefTag(namespace_id=ns.id, name=checks.tag_name(t)) for t in data.tags])
    for assoc in data.associations:
        await associate(s, ns, assoc)
    await flush_or_conflict(s, f"Duplicate definitions in namespace {ns.namespace}")


async def update_namespace(
    deps: Deps, ctx: RequestContext, name: str, values: dict[str, Any]
) -> NamespaceRecord:
    """Replace a namespace's attributes (Glance PUT); renaming onto a taken name is 409."""
    clean = checks.namespace_values(values, creating=False)
    async with deps.db.begin() as s:
        ns = await load(s, deps, ctx, name, write=True)
        new_name = clean.get("namespace", ns.namespace)
        if new_name != ns.namespace:
            await _check_free_name(s, new_name)
        for key, value in clean.items():
            setattr(ns, key, value)
        await touch(s, ns)
        await flush_or_conflict(s, _taken(new_name))
        return await contents(s, ns)


async def delete_namespace(deps: Deps, ctx: RequestContext, name: str) -> None:
    """Delete a namespace and everything in it; protected namespaces refuse (403)."""
    async with deps.db.begin() as s:
        ns = await load(s, deps, ctx, name, write=True)
        if ns.protected:
            raise Forbidden(f"Namespace {name} is protected and cannot be deleted.")
        await s.exec(sa_delete(MetadefNamespace).where(N.id == ns.id))


def require_unprotected(ns: MetadefNamespace, what: str) -> None:
    if ns.protected:
        raise Forbidden(f"Namespace {ns.namespace} is protected: cannot delete its {what}.")


# ---------------------------------------------------------------------------- resource types


async def list_resource_types(deps: Deps, ctx: RequestContext) -> list[MetadefResourceType]:
    """Every known resource type, by name."""
    deps.policy.enforce("get_metadef_resource_types", ctx.principal)
    async with deps.db.read() as s:
        rows = await s.exec(select(MetadefResourceType).order_by(col(MetadefResourceType.name)))
        return list(rows.all())


async def resource_type(s: AsyncSession, name: str) -> MetadefResourceType:
    """The resource type called ``name``, created on first use (as the catalog loader does;
    two first uses at once both get the one row)."""
    found = select(MetadefResourceType).where(MetadefResourceType.name == name)
    rt = (await s.exec(found)).first()
    if rt is None:
        rt = MetadefResourceType(name=name, protected=False)
        if not await inserted(s, rt):
            rt = (await s.exec(found)).one()
    return rt


async def associate(s: AsyncSession, ns: MetadefNamespace, assoc: Association) -> Association:
    checks.association(assoc.name, assoc.prefix, assoc.properties_target)
    rt = await resource_type(s, assoc.name)
    taken = await s.exec(
        select(MetadefAssociation).where(
            MetadefAssociation.namespace_id == ns.id, MetadefAssociation.resource_type_id == rt.id
        )
    )
    if taken.first() is not None:
        raise Conflict(f"Resource type {assoc.name} is already associated with {ns.namespace}")
    now = utcnow()
    assert ns.id is not None
    assert rt.id is not None
    s.add(
        MetadefAssociation(
            namespace_id=ns.id,
            resource_type_id=rt.id,
            prefix=assoc.prefix,
            properties_target=assoc.properties_target,
            created_at=now,
            updated_at=now,
        )
    )
    await flush_or_conflict(
        s, f"Resource type {assoc.name} is already associated with {ns.namespace}"
    )
    return Association(assoc.name, assoc.prefix, assoc.properties_target, now, now)


async def list_associations(deps: Deps, ctx: RequestContext, name: str) -> list[Association]:
    async with deps.db.read() as s:
        ns = await load(s, deps, ctx, name)
        assert ns.id is not None
        return (await associations_for(s, [ns.id]))[ns.id]


async def add_association(
    deps: Deps, ctx: RequestContext, name: str, assoc: Association
) -> Association:
    """Associate a namespace with a resource type (409 when already associated)."""
    async with deps.db.begin() as s:
        ns = await load(s, deps, ctx, name, write=True)
        made = await associate(s, ns, assoc)
        await touch(s, ns)
        return made


async def remove_association(deps: Deps, ctx: RequestContext, name: str, rt_name: str) -> None:
    text.check(rt_name, "resource type name")
    async with deps.db.begin() as s:
        ns = await load(s, deps, ctx, name, write=True)
        rt_id = select(R.id).where(R.name == rt_name).scalar_subquery()
        result = await s.exec(
            sa_delete(MetadefAssociation).where(
                A.namespace_id == ns.id, A.resource_type_id == rt_id
            )
        )
        if not result.rowcount:
            raise NotFound(f"Resource type {rt_name} is not associated with namespace {name}")
        await touch(s, ns)


def prefix_for(rec: NamespaceRecord, resource_type_name: str | None) -> str:
    """The prefix a resource type puts before this namespace's property names ('' if none)."""
    if not resource_type_name:
        return ""
    for a in rec.associations:
        if a.name == resource_type_name:
            return a.prefix or ""
    return ""
