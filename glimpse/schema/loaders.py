"""Per-request DataLoaders: a page of N images costs a constant number of queries."""

from __future__ import annotations

from collections.abc import Sequence
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
        self.relations = DataLoader[str, Relations](self._relations)
        self.members = DataLoader[str, list[ImageMember]](self._members)
        self.events = DataLoader[str, list[ImageEvent]](self._events)
        self.images = DataLoader[str, Any](self._images)
        self.tasks = DataLoader[str, list[Task]](self._tasks)
        self.metadef_namespaces = DataLoader[str, Any](self._metadef_namespaces)
        self.metadef_contents = DataLoader[int, Any](self._metadef_contents)
        self.image_metadefs = DataLoader[str, list[Any]](self._image_metadefs)

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
