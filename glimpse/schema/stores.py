"""Stores in GraphQL: which stores exist, and removing an image's copy from one of them.

Uploads stay on the REST data path (``PUT /v2/images/{id}/file`` with
``X-Image-Meta-Store``); ``Image.stores`` shows where an image's data lives.
"""

from __future__ import annotations

import strawberry

from glimpse.resolvers import images, storage
from glimpse.resolvers.storage import StoreInfo
from glimpse.schema.context import Info
from glimpse.schema.types import Image


@strawberry.type(name="Store", description="A named place where image data is kept.")
class StoreType:
    id: strawberry.ID = strawberry.field(description="The store's name, as in Image.stores.")
    description: str = strawberry.field(description="What the operator says it is for.")
    is_default: bool = strawberry.field(description="Whether uploads go here by default.")
    read_only: bool = strawberry.field(description="Whether new data can be written to it.")

    @classmethod
    def of(cls, info: StoreInfo) -> StoreType:
        return cls(
            id=strawberry.ID(info.id),
            description=info.description,
            is_default=info.default,
            read_only=info.read_only,
        )


@strawberry.type
class StoreQuery:
    @strawberry.field(
        description="The configured stores (multi-store deployments; NOT_FOUND otherwise)."
    )
    def stores(self, info: Info) -> list[StoreType]:
        found = storage.list_stores(info.context.deps, info.context.caller())
        return [StoreType.of(s) for s in found]


@strawberry.type
class StoreMutation:
    @strawberry.mutation(
        description=(
            "Remove an image's data from one store, keeping the image and its other copies "
            "(admin; the last copy cannot be removed)."
        )
    )
    async def delete_image_from_store(
        self, info: Info, id: strawberry.ID, store: strawberry.ID
    ) -> Image:
        deps, ctx = info.context.deps, info.context.caller()
        await storage.delete_from_store(deps, ctx, str(store), str(id))
        rec = await images.get(deps, ctx, str(id))
        return Image(row=rec.image)
