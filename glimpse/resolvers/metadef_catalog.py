"""The metadefs catalog as documents, and as it applies to images.

- Import/export of namespace documents in Glance's file format (``etc/metadefs/*.json``):
  importing is idempotent (an existing namespace is updated in place and its contents
  replaced, never duplicated) and an export of an import gives the document back.
- The definitions that apply to images (namespaces associated with ``OS::Glance::Image``,
  names prefixed by the association's prefix), with the values images currently have.
The optional check of image property values lives in metadef_validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import InvalidInput
from glimpse.models.metadef_tables import (
    MetadefAssociation,
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)
from glimpse.resolvers import images, metadefs
from glimpse.resolvers import metadef_checks as checks
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.metadef_validation import ImageDefinition, image_definitions

DEFAULT_OWNER = "admin"  # what Glance's loader records when a file names no owner
N = metadefs.N
CHILDREN = (MetadefAssociation, MetadefObject, MetadefProperty, MetadefTag)


# ---------------------------------------------------------------------------- documents


def document_input(doc: Any) -> metadefs.NamespaceInput:
    """A Glance namespace document as the neutral create input."""
    if not isinstance(doc, dict):
        raise InvalidInput("A namespace document must be a JSON object")
    values = {k: doc[k] for k in checks.NAMESPACE_FIELDS if k in doc}
    objects = doc.get("objects") or []
    tags = doc.get("tags") or []
    assocs = doc.get("resource_type_associations") or []
    if not all(isinstance(x, dict) for x in [*objects, *tags, *assocs]):
        raise InvalidInput("objects, tags and resource_type_associations hold JSON objects")
    properties = doc.get("properties") or {}
    if not isinstance(properties, dict):
        raise InvalidInput("'properties' must be a JSON object")
    return metadefs.NamespaceInput(
        values=values,
        properties=properties,
        objects=[checks.object_input(o) for o in objects],
        tags=[t.get("name") for t in tags],
        associations=[
            metadefs.Association(a.get("name"), a.get("prefix"), a.get("properties_target"))
            for a in assocs
        ],
    )


async def import_documents(
    deps: Deps, ctx: RequestContext, docs: Sequence[Any]
) -> list[tuple[str, bool]]:
    """Create or update one namespace per document, all in one transaction.

    Returns ``(namespace, created)`` pairs. An existing namespace keeps its identity and
    creation time; its attributes are overwritten and its contents replaced.
    """
    deps.policy.enforce("modify_metadef", ctx.principal)
    inputs = [document_input(d) for d in docs]
    out: list[tuple[str, bool]] = []
    async with deps.db.begin() as s:
        for data in inputs:
            data.values.setdefault("owner", DEFAULT_OWNER)
            values = checks.namespace_values(data.values, creating=True)
            out.append((values["namespace"], await _upsert(s, values, data)))
    return out


async def _upsert(s: AsyncSession, values: dict[str, Any], data: metadefs.NamespaceInput) -> bool:
    stmt = select(MetadefNamespace).where(N.namespace == values["namespace"]).with_for_update()
    ns = (await s.exec(stmt)).first()
    created = ns is None
    now = utcnow()
    if ns is None:
        ns = MetadefNamespace(**values, created_at=now, updated_at=now)
        s.add(ns)
        await s.flush()
    else:
        for key, value in values.items():
            setattr(ns, key, value)
        ns.updated_at = now
        s.add(ns)
        for model in CHILDREN:
            await s.exec(sa_delete(model).where(col(model.namespace_id) == ns.id))
    await metadefs.add_contents(s, ns, data)
    return created


def document_of(rec: metadefs.NamespaceRecord) -> dict[str, Any]:
    """A namespace in Glance's file format (no ids, no timestamps)."""
    ns = rec.ns
    doc: dict[str, Any] = {"namespace": ns.namespace}
    for key in ("display_name", "description"):
        if getattr(ns, key) is not None:
            doc[key] = getattr(ns, key)
    doc.update(visibility=ns.visibility, protected=ns.protected)
    if ns.owner != DEFAULT_OWNER:
        doc["owner"] = ns.owner
    doc["resource_type_associations"] = [
        {"name": a.name}
        | ({"prefix": a.prefix} if a.prefix is not None else {})
        | ({"properties_target": a.properties_target} if a.properties_target else {})
        for a in rec.associations
    ]
    if rec.properties:
        doc["properties"] = {p.name: dict(p.json_schema) for p in rec.properties}
    if rec.objects:
        doc["objects"] = [_object_doc(o) for o in rec.objects]
    if rec.tags:
        doc["tags"] = [{"name": t.name} for t in rec.tags]
    return doc


def _object_doc(o: MetadefObject) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": o.name}
    if o.description is not None:
        doc["description"] = o.description
    if o.required:
        doc["required"] = list(o.required)
    doc["properties"] = dict(o.properties)
    return doc


async def export_documents(deps: Deps, ctx: RequestContext) -> list[dict[str, Any]]:
    """Every namespace the caller can read, as documents, ordered by namespace name."""
    async with deps.db.read() as s:
        stmt = select(MetadefNamespace).where(metadefs.scope(ctx)).order_by(N.namespace)
        rows = list((await s.exec(stmt)).all())
        return [document_of(await metadefs.contents(s, ns)) for ns in rows]


# ---------------------------------------------------------------------------- images


@dataclass(frozen=True)
class AppliedProperty:
    """An applicable definition and the image's current value for it (None if unset)."""

    definition: ImageDefinition
    value: str | None


async def image_properties_for(
    deps: Deps, ctx: RequestContext, image_ids: Sequence[str], *, only_set: bool = False
) -> dict[str, list[AppliedProperty]]:
    """For each image, the applicable definitions the caller can read, with the image's
    values: three queries whatever the number of images (GraphQL's DataLoader)."""
    async with deps.db.read() as s:
        defs = await image_definitions(s, metadefs.scope(ctx))
    values = await images.relations_for(deps, image_ids)
    out: dict[str, list[AppliedProperty]] = {}
    for image_id in image_ids:
        rel = values.get(image_id)
        props = rel.properties if rel is not None else {}
        applied = [AppliedProperty(d, props.get(d.name)) for d in defs]
        out[image_id] = [a for a in applied if a.value is not None] if only_set else applied
    return out


async def resource_type_names(s: AsyncSession) -> list[str]:
    rows = await s.exec(select(MetadefResourceType.name).order_by(col(MetadefResourceType.name)))
    return list(rows.all())


@dataclass
class Contents:
    """What a namespace holds (GraphQL loads it for many namespaces at once)."""

    properties: list[MetadefProperty] = field(default_factory=list)
    objects: list[MetadefObject] = field(default_factory=list)
    tags: list[MetadefTag] = field(default_factory=list)


async def contents_for(deps: Deps, namespace_ids: Sequence[int]) -> dict[int, Contents]:
    """Properties, objects and tags of many (already authorized) namespaces: three queries."""
    out = {i: Contents() for i in namespace_ids}
    if not namespace_ids:
        return out
    async with deps.db.read() as s:
        kinds: tuple[tuple[Any, str], ...] = (
            (MetadefProperty, "properties"),
            (MetadefObject, "objects"),
            (MetadefTag, "tags"),
        )
        for model, attr in kinds:
            table = model.__table__.c
            stmt = select(model).where(table.namespace_id.in_(namespace_ids)).order_by(table.id)
            for row in (await s.exec(stmt)).all():
                getattr(out[row.namespace_id], attr).append(row)
    return out
