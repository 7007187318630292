"""Change feeds for subscriptions, read from the database so they work across processes:
a task's progress (its row) and an image's status changes (the image_events log).

Polling the database keeps one mechanism for SQLite and PostgreSQL and for any mix of
API processes and workers; the cost is one indexed query per watcher per poll interval.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlmodel import col, select

from glimpse.core.context import RequestContext
from glimpse.models.tables import Image, ImageEvent, Task
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.images import load_visible
from glimpse.resolvers.task_queue import TERMINAL
from glimpse.resolvers.tasks import get_task


async def watch_task(deps: Deps, ctx: RequestContext, task_id: str) -> AsyncIterator[Task]:
    """Yield the task now and after every change, until it finishes."""
    last: tuple[object, ...] | None = None
    while True:
        task = await get_task(deps, ctx, task_id)
        key = (task.status, task.progress, task.message, task.updated_at)
        if key != last:
            last = key
            yield task
        if task.status in TERMINAL:
            return
        await asyncio.sleep(deps.settings.tasks.poll_seconds)


@dataclass(frozen=True)
class ImageChange:
    """The image's status after an event (``event`` is None for the initial state)."""

    image: Image
    event: ImageEvent | None


async def watch_image(deps: Deps, ctx: RequestContext, image_id: str) -> AsyncIterator[ImageChange]:
    """Yield the current state, then one item per logged change of a visible image; ends
    when the image is deleted."""
    async with deps.db.read() as s:
        image, _ = await load_visible(s, deps, ctx, image_id)
        last_id = (
            await s.exec(
                select(ImageEvent.id)
                .where(ImageEvent.image_id == image.id)
                .order_by(col(ImageEvent.id).desc())
            )
        ).first() or 0
    yield ImageChange(image, None)
    while image.status != "deleted":
        await asyncio.sleep(deps.settings.tasks.poll_seconds)
        async with deps.db.read() as s:
            rows = list(
                (
                    await s.exec(
                        select(ImageEvent)
                        .where(ImageEvent.image_id == image.id, col(ImageEvent.id) > last_id)
                        .order_by(col(ImageEvent.id))
                    )
                ).all()
            )
            if not rows:
                continue
            current = await s.get(Image, image.id)
        for ev in rows:
            last_id = ev.id or last_id
            if current is not None:
                image = current
            yield ImageChange(image, ev)
