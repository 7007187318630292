"""Every metadefs write as a GraphQL mutation (admin-only by default: ``modify_metadef``)."""

from __future__ import annotations

import strawberry

from glimpse.resolvers import metadef_items as items
from glimpse.resolvers import metadefs
from glimpse.schema.context import Info
from glimpse.schema.metadef_types import (
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceTypeAssociation,
    MetadefTag,
)
from glimpse.schema.metadefs import (
    CreateMetadefNamespaceInput,
    MetadefAssociationInput,
    MetadefObjectInput,
    MetadefPropertyInput,
    UpdateMetadefNamespaceInput,
    _assoc,
    _object,
    create_input,
    update_values,
)


def _prop(row: object) -> MetadefProperty:
    return MetadefProperty(name=row.name, definition=row.json_schema)  # type: ignore[attr-defined]


@strawberry.type
class MetadefMutation:
    @strawberry.mutation(description="Create a namespace, optionally with its contents.")
    async def create_metadef_namespace(
        self, info: Info, input: CreateMetadefNamespaceInput
    ) -> MetadefNamespace:
        rec = await metadefs.create_namespace(
            info.context.deps, info.context.caller(), create_input(input)
        )
        return MetadefNamespace(rec=rec, loaded=True)

    @strawberry.mutation(description="Change a namespace's attributes (rename included).")
    async def update_metadef_namespace(
        self, info: Info, namespace: str, input: UpdateMetadefNamespaceInput
    ) -> MetadefNamespace:
        rec = await metadefs.update_namespace(
            info.context.deps, info.context.caller(), namespace, update_values(input)
        )
        return MetadefNamespace(rec=rec, loaded=True)

    @strawberry.mutation(description="Delete a namespace and all it holds (not if protected).")
    async def delete_metadef_namespace(self, info: Info, namespace: str) -> bool:
        await metadefs.delete_namespace(info.context.deps, info.context.caller(), namespace)
        return True

    @strawberry.mutation(description="Add an object definition.")
    async def create_metadef_object(
        self, info: Info, namespace: str, input: MetadefObjectInput
    ) -> MetadefObject:
        row = await items.create_object(
            info.context.deps, info.context.caller(), namespace, _object(input)
        )
        return MetadefObject(row=row)

    @strawberry.mutation(description="Replace an object definition (rename included).")
    async def update_metadef_object(
        self, info: Info, namespace: str, name: str, input: MetadefObjectInput
    ) -> MetadefObject:
        row = await items.update_object(
            info.context.deps, info.context.caller(), namespace, name, _object(input)
        )
        return MetadefObject(row=row)

    @strawberry.mutation(description="Delete one object definition.")
    async def delete_metadef_object(self, info: Info, namespace: str, name: str) -> bool:
        await items.delete_object(info.context.deps, info.context.caller(), namespace, name)
        return True

    @strawberry.mutation(description="Delete every object of a namespace (not if protected).")
    async def delete_metadef_objects(self, info: Info, namespace: str) -> bool:
        await items.delete_objects(info.context.deps, info.context.caller(), namespace)
        return True

    @strawberry.mutation(description="Add a property definition.")
    async def create_metadef_property(
        self, info: Info, namespace: str, input: MetadefPropertyInput
    ) -> MetadefProperty:
        row = await items.create_property(
            info.context.deps,
            info.context.caller(),
            namespace,
            input.name,
            input.definition,  # type: ignore[arg-type]
        )
        return _prop(row)

    @strawberry.mutation(description="Replace a property definition (rename included).")
    async def update_metadef_property(
        self, info: Info, namespace: str, name: str, input: MetadefPropertyInput
    ) -> MetadefProperty:
        row = await items.update_property(
            info.context.deps,
            info.context.caller(),
            namespace,
            name,
            input.name,
            input.definition,  # type: ignore[arg-type]
        )
        return _prop(row)

    @strawberry.mutation(description="Delete one property definition.")
    async def delete_metadef_property(self, info: Info, namespace: str, name: str) -> bool:
        await items.delete_property(info.context.deps, info.context.caller(), namespace, name)
        return True

    @strawberry.mutation(description="Delete every property of a namespace (not if protected).")
    async def delete_metadef_properties(self, info: Info, namespace: str) -> bool:
        await items.delete_properties(info.context.deps, info.context.caller(), namespace)
        return True

    @strawberry.mutation(description="Add one tag.")
    async def create_metadef_tag(self, info: Info, namespace: str, name: str) -> MetadefTag:
        row = await items.create_tag(info.context.deps, info.context.caller(), namespace, name)
        return MetadefTag.of(row)

    @strawberry.mutation(
        description="Set a namespace's tags to these names, or add them with append: true."
    )
    async def set_metadef_tags(
        self, info: Info, namespace: str, names: list[str], append: bool = False
    ) -> list[MetadefTag]:
        rows = await items.create_tags(
            info.context.deps, info.context.caller(), namespace, names, append=append
        )
        return [MetadefTag.of(r) for r in rows]

    @strawberry.mutation(description="Rename a tag.")
    async def rename_metadef_tag(
        self, info: Info, namespace: str, name: str, new_name: str
    ) -> MetadefTag:
        row = await items.rename_tag(
            info.context.deps, info.context.caller(), namespace, name, new_name
        )
        return MetadefTag.of(row)

    @strawberry.mutation(description="Delete one tag.")
    async def delete_metadef_tag(self, info: Info, namespace: str, name: str) -> bool:
        await items.delete_tag(info.context.deps, info.context.caller(), namespace, name)
        return True

    @strawberry.mutation(description="Delete every tag of a namespace (not if protected).")
    async def delete_metadef_tags(self, info: Info, namespace: str) -> bool:
        await items.delete_tags(info.context.deps, info.context.caller(), namespace)
        return True

    @strawberry.mutation(description="Associate a namespace with a resource type.")
    async def add_metadef_resource_type_association(
        self, info: Info, namespace: str, input: MetadefAssociationInput
    ) -> MetadefResourceTypeAssociation:
        made = await metadefs.add_association(
            info.context.deps, info.context.caller(), namespace, _assoc(input)
        )
        return MetadefResourceTypeAssociation.of(made)

    @strawberry.mutation(description="Remove a namespace's association with a resource type.")
    async def remove_metadef_resource_type_association(
        self, info: Info, namespace: str, name: str
    ) -> bool:
        await metadefs.remove_association(info.context.deps, info.context.caller(), namespace, name)
        return True
