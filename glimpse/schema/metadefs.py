"""Metadefs queries and mutations: inputs become neutral resolver types, results become types.

The list is a keyset connection: a cursor is the same keyset a REST marker decodes to.
"""

from __future__ import annotations

import enum
from typing import Any

import strawberry
from strawberry.types.unset import UNSET

from glimpse.core.errors import InvalidInput, NotFound
from glimpse.resolvers import metadef_checks as checks
from glimpse.resolvers import metadef_items as items
from glimpse.resolvers import metadefs
from glimpse.schema import cursors
from glimpse.schema.context import Info
from glimpse.schema.images import PageInfo, SortDirection
from glimpse.schema.metadef_types import (
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefResourceTypeAssociation,
    MetadefTag,
    MetadefVisibility,
)
from glimpse.schema.scalars import JSON


@strawberry.input(description="Namespace list filters; all given conditions must hold.")
class MetadefNamespaceFilter:
    visibility: MetadefVisibility | None = strawberry.field(
        default=None, description="Only public or only private namespaces."
    )
    resource_types: list[str] | None = strawberry.field(
        default=None, description="Associated with any of these resource types."
    )


@strawberry.enum(description="Fields namespaces can be sorted by.")
class MetadefNamespaceSortField(enum.Enum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    NAMESPACE = "namespace"


@strawberry.input(description="Sort order of namespaces; the internal id breaks ties.")
class MetadefNamespaceSort:
    field: MetadefNamespaceSortField = strawberry.field(description="Field to sort by.")
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC, description="Direction."
    )


@strawberry.type(description="A namespace and its position in the list.")
class MetadefNamespaceEdge:
    cursor: str = strawberry.field(description="Opaque position; pass as after.")
    node: MetadefNamespace = strawberry.field(description="The namespace.")


@strawberry.type(description="A page of namespaces (keyset pagination).")
class MetadefNamespaceConnection:
    edges: list[MetadefNamespaceEdge] = strawberry.field(description="This page's namespaces.")
    page_info: PageInfo = strawberry.field(description="Paging state.")

    @strawberry.field(description="The namespaces of this page, without cursors.")
    def nodes(self) -> list[MetadefNamespace]:
        return [e.node for e in self.edges]


@strawberry.type
class MetadefQuery:
    @strawberry.field(description="Metadef namespaces you can read: filtered, sorted, paged.")
    async def metadef_namespaces(
        self,
        info: Info,
        filter: MetadefNamespaceFilter | None = None,
        sort: MetadefNamespaceSort | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> MetadefNamespaceConnection:
        ctx, deps = info.context.caller(), info.context.deps
        limit = deps.settings.page_default if first is None else first
        if limit < 0 or limit > deps.settings.page_max:
            raise InvalidInput(f"Page size must be between 0 and {deps.settings.page_max}")
        f = filter or MetadefNamespaceFilter()
        query = metadefs.NamespaceQuery(
            limit=limit,
            sort_key=sort.field.value if sort else "created_at",
            sort_dir=sort.direction.value if sort else "desc",
            visibility=f.visibility.value if f.visibility else None,
            resource_types=tuple(f.resource_types or ()),
            after=cursors.decode(after) if after else None,
        )
        page = await metadefs.list_namespaces(deps, ctx, query)
        edges = [
            MetadefNamespaceEdge(cursor=page.cursor(r).encode(), node=MetadefNamespace(rec=r))
            for r in page.items
        ]
        return MetadefNamespaceConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field(description="One namespace by name, or null when absent or not readable.")
    async def metadef_namespace(self, info: Info, namespace: str) -> MetadefNamespace | None:
        try:
            rec = await metadefs.get_namespace(info.context.deps, info.context.caller(), namespace)
        except NotFound:
            return None
        return MetadefNamespace(rec=rec, loaded=True)

    @strawberry.field(description="Every known resource type.")
    async def metadef_resource_types(self, info: Info) -> list[MetadefResourceType]:
        rows = await metadefs.list_resource_types(info.context.deps, info.context.caller())
        return [
            MetadefResourceType(name=r.name, created_at=r.created_at, updated_at=r.updated_at)
            for r in rows
        ]


# ---------------------------------------------------------------------------- inputs


@strawberry.input(description="A property definition.")
class MetadefPropertyInput:
    name: str = strawberry.field(description="Property name.")
    definition: JSON = strawberry.field(
        description="Glance property schema: title and type required; enum, minimum, maximum, "
        "pattern, default, items, readonly... optional."
    )


@strawberry.input(description="An object definition.")
class MetadefObjectInput:
    name: str = strawberry.field(description="Object name.")
    description: str | None = strawberry.field(default=None, description="What it describes.")
    required: list[str] | None = strawberry.field(default=None, description="Required names.")
    properties: list[MetadefPropertyInput] | None = strawberry.field(
        default=None, description="Its properties (title optional here)."
    )


@strawberry.input(description="Associate a namespace with a resource type.")
class MetadefAssociationInput:
    name: str = strawberry.field(description="Resource type, e.g. OS::Glance::Image.")
    prefix: str | None = strawberry.field(default=None, description="Property name prefix.")
    properties_target: str | None = strawberry.field(
        default=None, description="Part of the resource the properties go to."
    )


@strawberry.input(description="A new namespace, optionally with contents.")
class CreateMetadefNamespaceInput:
    namespace: str = strawberry.field(description="Unique name.")
    display_name: str | None = strawberry.field(default=None, description="Display name.")
    description: str | None = strawberry.field(default=None, description="Description.")
    visibility: MetadefVisibility = strawberry.field(
        default=MetadefVisibility.PRIVATE, description="Default private."
    )
    protected: bool = strawberry.field(default=False, description="Refuse deletion.")
    owner: str | None = strawberry.field(default=None, description="Default: your project.")
    properties: list[MetadefPropertyInput] | None = strawberry.field(
        default=None, description="Property definitions."
    )
    objects: list[MetadefObjectInput] | None = strawberry.field(
        default=None, description="Object definitions."
    )
    tags: list[str] | None = strawberry.field(default=None, description="Tags.")
    resource_type_associations: list[MetadefAssociationInput] | None = strawberry.field(
        default=None, description="Resource types it applies to."
    )


@strawberry.input(description="Changes to a namespace; omitted fields stay as they are.")
class UpdateMetadefNamespaceInput:
    namespace: str | None = strawberry.field(default=UNSET, description="New name.")
    display_name: str | None = strawberry.field(default=UNSET, description="Display name.")
    description: str | None = strawberry.field(default=UNSET, description="Description.")
    visibility: MetadefVisibility | None = strawberry.field(default=UNSET, description="Scope.")
    protected: bool | None = strawberry.field(default=UNSET, description="Refuse deletion.")


def _props(inputs: list[MetadefPropertyInput] | None) -> dict[str, Any]:
    return {p.name: p.definition for p in inputs or []}


def _object(inp: MetadefObjectInput) -> checks.ObjectInput:
    return checks.ObjectInput(inp.name, inp.description, inp.required, _props(inp.properties))


def _assoc(inp: MetadefAssociationInput) -> metadefs.Association:
    return metadefs.Association(inp.name, inp.prefix, inp.properties_target)


def create_input(inp: CreateMetadefNamespaceInput) -> metadefs.NamespaceInput:
    values: dict[str, Any] = {
        "namespace": inp.namespace,
        "display_name": inp.display_name,
        "description": inp.description,
        "visibility": inp.visibility.value,
        "protected": inp.protected,
    }
    if inp.owner is not None:
        values["owner"] = inp.owner
    return metadefs.NamespaceInput(
        values=values,
        properties=_props(inp.properties),
        objects=[_object(o) for o in inp.objects or []],
        tags=list(inp.tags or []),
        associations=[_assoc(a) for a in inp.resource_type_associations or []],
    )


def update_values(inp: UpdateMetadefNamespaceInput) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("namespace", "display_name", "description", "visibility", "protected"):
        value = getattr(inp, name)
        if value is not UNSET:
            out[name] = value.value if isinstance(value, enum.Enum) else value
    return out


__all__ = [
    "MetadefAssociationInput",
    "MetadefObject",
    "MetadefObjectInput",
    "MetadefProperty",
    "MetadefPropertyInput",
    "MetadefQuery",
    "MetadefResourceTypeAssociation",
    "MetadefTag",
    "items",
]
