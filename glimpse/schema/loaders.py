"""Per-request DataLoaders: a page of N images costs a constant number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from glimpse.core.context import RequestContext
from glimpse.models.image_sql import Relations
from glimpse.models.tables import ImageEvent, ImageMember, Task
from glimpse.resolvers import events, images, members, metadef_catalog, metadefs, tasks
from glimpse.resolvers.deps import Deps

NO_RELATIONS = Relations({}, [], [], None)


class Loaders:
    """One loader per relation, created per request (never shared between callers)."""

    def __init__(self, deps: Deps, ctx: RequestContext) -> None:
        self.deps, self.ctx = deps, ctx

    # Each loader is made on first use: most requests need one or two of them.

    @cached_property
    def relations(self) -> DataLoader[str, Relations]:
        return DataLoader[str, Relations](self._relations)

    @cached_property
    def members(self) -> DataLoader[str, list[ImageMember]]:
        return DataLoader[str, list[ImageMember]](self._members)

    @cached_property
    def events(self) -> DataLoader[str, list[ImageEvent]]:
        return DataLoader[str, list[ImageEvent]](self._events)

    @cached_property
    def images(self) -> DataLoader[str, Any]:
        return DataLoader[str, Any](self._images)

    @cached_property
    def tasks(self) -> DataLoader[str, list[Task]]:
        return DataLoader[str, list[Task]](self._tasks)

    @cached_property
    def metadef_namespaces(self) -> DataLoader[str, Any]:
        return DataLoader[str, Any](self._metadef_namespaces)

    @cached_property
    def metadef_contents(self) -> DataLoader[int, Any]:
        return DataLoader[int, Any](self._metadef_contents)

    @cached_property
    def image_metadefs(self) -> DataLoader[str, list[Any]]:
        return DataLoader[str, list[Any]](self._image_metadefs)

    async def _relations(self, ids: Sequence[str]) -> list[Relations]:
        found = await images.relations_for(self.deps, ids)
        return [found.get(i, NO_RELATIONS) for i in ids]

    async def _members(self, ids: Sequence[str]) -> list[list[ImageMember]]:
        found = await members.members_for(self.deps, self.ctx, ids)
        return [found[i] for i in ids]

    async def _events(self, ids: Sequence[str]) -> list[list[ImageEvent]]:
        async with self.deps.db.read() as s:
            found = await events.events_visible(s, self.ctx, ids)
        return [found[i] for i in ids]

    async def _images(self, ids: Sequence[str]) -> list[Any]:
        return await images.get_many(self.deps, self.ctx, ids)

    async def _tasks(self, ids: Sequence[str]) -> list[list[Task]]:
        found = await tasks.tasks_for_images(self.deps, self.ctx, ids)
        return [found[i] for i in ids]

    async def _metadef_namespaces(self, names: Sequence[str]) -> list[Any]:
        return list(await metadefs.get_namespaces(self.deps, self.ctx, names))

    async def _metadef_contents(self, ids: Sequence[int]) -> list[Any]:
        found = await metadef_catalog.contents_for(self.deps, ids)
        return [found[i] for i in ids]

    async def _image_metadefs(self, ids: Sequence[str]) -> list[list[Any]]:
        found = await metadef_catalog.image_properties_for(self.deps, self.ctx, ids)
        return [found[i] for i in ids]
