"""GraphQL object types of the metadata definitions catalog (metadefs).

``MetadefNamespace`` is a federation entity keyed by its ``namespace`` name. Contents of
listed namespaces and the image view are loaded through per-request DataLoaders, so a page
costs a constant number of queries whatever its size.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry

from glimpse.models.metadef_tables import MetadefObject as ObjectRow
from glimpse.models.metadef_tables import MetadefTag as TagRow
from glimpse.resolvers.metadef_catalog import AppliedProperty, Contents
from glimpse.resolvers.metadefs import Association, NamespaceRecord
from glimpse.schema.context import Info
from glimpse.schema.scalars import JSON


@strawberry.enum(description="Who may read a metadef namespace.")
class MetadefVisibility(enum.Enum):
    PUBLIC = "public"
    PRIVATE = "private"


@strawberry.type(description="A property definition (a JSON schema fragment) of a namespace.")
class MetadefProperty:
    name: str = strawberry.field(description="Property name (prefixed when asked for).")
    definition: JSON = strawberry.field(
        description="The full definition as Glance stores it: title, type, enum, minimum..."
    )

    @strawberry.field(description="Human-readable title.")
    def title(self) -> str | None:
        return _str(self.definition, "title")

    @strawberry.field(description="JSON type: string, integer, number, boolean, array...")
    def type(self) -> str | None:
        return _str(self.definition, "type")

    @strawberry.field(description="What the property means.")
    def description(self) -> str | None:
        return _str(self.definition, "description")

    @strawberry.field(description="Allowed values, when restricted.")
    def enum(self) -> list[JSON] | None:
        value = self.definition.get("enum") if isinstance(self.definition, dict) else None
        return list(value) if isinstance(value, list) else None


def _str(d: Any, key: str) -> str | None:
    value = d.get(key) if isinstance(d, dict) else None
    return value if isinstance(value, str) else None


def properties_of(schemas: dict[str, Any], prefix: str = "") -> list[MetadefProperty]:
    return [MetadefProperty(name=prefix + k, definition=v) for k, v in schemas.items()]


@strawberry.type(description="A named group of property definitions inside a namespace.")
class MetadefObject:
    row: strawberry.Private[ObjectRow]
    prefix: strawberry.Private[str] = ""

    @strawberry.field(description="Object name, unique in its namespace.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="What the object describes.")
    def description(self) -> str | None:
        return self.row.description

    @strawberry.field(description="Names of the properties that must be given.")
    def required(self) -> list[str]:
        return [self.prefix + r for r in self.row.required or []]

    @strawberry.field(description="The object's property definitions.")
    def properties(self) -> list[MetadefProperty]:
        return properties_of(self.row.properties, self.prefix)

    @strawberry.field(description="Creation time (UTC).")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="Last change (UTC).")
    def updated_at(self) -> datetime:
        return self.row.updated_at


@strawberry.type(description="A tag a namespace suggests for resources.")
class MetadefTag:
    name: str = strawberry.field(description="Tag text, unique in its namespace.")
    created_at: datetime = strawberry.field(description="Creation time (UTC).")
    updated_at: datetime = strawberry.field(description="Last change (UTC).")

    @classmethod
    def of(cls, row: TagRow) -> MetadefTag:
        return cls(name=row.name, created_at=row.created_at, updated_at=row.updated_at)


@strawberry.type(description="A kind of resource definitions apply to, e.g. OS::Glance::Image.")
class MetadefResourceType:
    name: str = strawberry.field(description="Resource type name.")
    created_at: datetime = strawberry.field(description="Creation time (UTC).")
    updated_at: datetime = strawberry.field(description="Last change (UTC).")


@strawberry.type(description="A namespace applied to a resource type, with a name prefix.")
class MetadefResourceTypeAssociation:
    name: str = strawberry.field(description="Resource type name.")
    prefix: str | None = strawberry.field(description="Prefix put before property names.")
    properties_target: str | None = strawberry.field(
        description="Which part of the resource the properties go to (e.g. image)."
    )

    @classmethod
    def of(cls, a: Association) -> MetadefResourceTypeAssociation:
        return cls(name=a.name, prefix=a.prefix, properties_target=a.properties_target)


@strawberry.federation.type(
    keys=["namespace"], description="A metadata definitions namespace (Glance metadefs)."
)
class MetadefNamespace:
    rec: strawberry.Private[NamespaceRecord]
    loaded: strawberry.Private[bool] = False

    @strawberry.field(description="Unique name, e.g. OS::Compute::CPUPinning.")
    def namespace(self) -> str:
        return self.rec.ns.namespace

    @strawberry.field(description="Human-readable name.")
    def display_name(self) -> str | None:
        return self.rec.ns.display_name

    @strawberry.field(description="What the namespace is for.")
    def description(self) -> str | None:
        return self.rec.ns.description

    @strawberry.field(description="Public namespaces are readable by everyone.")
    def visibility(self) -> MetadefVisibility:
        return MetadefVisibility(self.rec.ns.visibility)

    @strawberry.field(description="Protected namespaces cannot be deleted.")
    def protected(self) -> bool:
        return self.rec.ns.protected

    @strawberry.field(description="Owning project.")
    def owner(self) -> str | None:
        return self.rec.ns.owner

    @strawberry.field(description="Creation time (UTC).")
    def created_at(self) -> datetime:
        return self.rec.ns.created_at

    @strawberry.field(description="Last change (UTC).")
    def updated_at(self) -> datetime:
        return self.rec.ns.updated_at

    @strawberry.field(description="Resource types this namespace applies to.")
    def resource_type_associations(self) -> list[MetadefResourceTypeAssociation]:
        return [MetadefResourceTypeAssociation.of(a) for a in self.rec.associations]

    async def _contents(self, info: Info) -> Contents:
        if self.loaded:
            return Contents(self.rec.properties, self.rec.objects, self.rec.tags)
        loader = info.context.loaders.metadef_contents
        return await loader.load(self.rec.ns.id or 0)  # type: ignore[no-any-return]

    def _prefix(self, resource_type: str | None) -> str:
        from glimpse.resolvers.metadefs import prefix_for

        return prefix_for(self.rec, resource_type)

    @strawberry.field(
        description="Property definitions; with resourceType, names carry its prefix."
    )
    async def properties(
        self, info: Info, resource_type: str | None = None
    ) -> list[MetadefProperty]:
        rows = (await self._contents(info)).properties
        prefix = self._prefix(resource_type)
        return [MetadefProperty(name=prefix + p.name, definition=JSON(p.json_schema)) for p in rows]

    @strawberry.field(description="Objects; with resourceType, property names carry its prefix.")
    async def objects(self, info: Info, resource_type: str | None = None) -> list[MetadefObject]:
        prefix = self._prefix(resource_type)
        return [MetadefObject(row=o, prefix=prefix) for o in (await self._contents(info)).objects]

    @strawberry.field(description="Suggested tags.")
    async def tags(self, info: Info) -> list[MetadefTag]:
        return [MetadefTag.of(t) for t in (await self._contents(info)).tags]

    @classmethod
    async def resolve_reference(cls, info: Info, namespace: str) -> MetadefNamespace | None:
        """Federation entity lookup; unknown or unreadable namespaces resolve to null.
        Anonymous callers get UNAUTHENTICATED, as REST answers 401."""
        info.context.caller()
        rec = await info.context.loaders.metadef_namespaces.load(namespace)
        return cls(rec=rec) if rec is not None else None


@strawberry.type(description="A metadef property that applies to an image, and its value.")
class ImageMetadefProperty:
    applied: strawberry.Private[AppliedProperty]

    @strawberry.field(description="Image property name (the association's prefix included).")
    def name(self) -> str:
        return self.applied.definition.name

    @strawberry.field(description="The namespace defining it.")
    def namespace(self) -> str:
        return self.applied.definition.namespace

    @strawberry.field(description="The object defining it, when it belongs to one.")
    def object_name(self) -> str | None:
        return self.applied.definition.object_name

    @strawberry.field(description="The definition: title, type, enum, minimum, pattern...")
    def definition(self) -> JSON:
        return self.applied.definition.schema  # type: ignore[return-value]

    @strawberry.field(description="Human-readable title.")
    def title(self) -> str | None:
        return _str(self.applied.definition.schema, "title")

    @strawberry.field(description="JSON type of the value.")
    def type(self) -> str | None:
        return _str(self.applied.definition.schema, "type")

    @strawberry.field(description="The image's current value, or null when unset.")
    def value(self) -> str | None:
        return self.applied.value


async def image_metadef_properties(
    info: Info, image_id: str, only_set: bool
) -> list[ImageMetadefProperty]:
    """Backs ``Image.metadefProperties`` (batched over every image of the response)."""
    applied: list[AppliedProperty] = await info.context.loaders.image_metadefs.load(image_id)
    return [ImageMetadefProperty(applied=a) for a in applied if a.value is not None or not only_set]
