"""The import lock and the ``os_glance_*`` bookkeeping properties of an image.

Glance marks an image being imported with ``os_glance_import_task=<task id>``; a second
import (or copy, or resize: anything rewriting the data) is a 409 while the lock holds.
A lock whose task finished, vanished, or made no progress for ``tasks.lock_stale_seconds``
may be taken over (Glance's stale-lock rule), so a lost worker never blocks an image
forever. Progress of multi-store imports is published in ``os_glance_importing_to_stores``
(shrinks as stores finish) and ``os_glance_failed_import``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.clock import utcnow
from glimpse.core.context import Principal, RequestContext
from glimpse.core.errors import Conflict, Gone
from glimpse.models.tables import Image, ImageProperty, Task
from glimpse.resolvers.deps import Deps

LOCK = "os_glance_import_task"
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"


async def get_prop(s: AsyncSession, image_id: str, name: str) -> str | None:
    row = await s.get(ImageProperty, (image_id, name))
    return row.value if row is not None else None


async def set_prop(s: AsyncSession, image_id: str, name: str, value: str | None) -> None:
    """Set (or with ``None`` remove) one property inside the caller's transaction."""
    row = await s.get(ImageProperty, (image_id, name))
    if value is None:
        if row is not None:
            await s.delete(row)
        return
    if row is None:
        s.add(ImageProperty(image_id=image_id, name=name, value=value))
    else:
        row.value = value
        s.add(row)


def split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


async def take(s: AsyncSession, deps: Deps, image_id: str, task_id: str) -> None:
    """Lock the image for ``task_id`` or raise :class:`Conflict` while another task holds it."""
    holder = await get_prop(s, image_id, LOCK)
    if holder and holder != task_id:
        task = await s.get(Task, holder)
        stale = utcnow() - timedelta(seconds=deps.settings.tasks.lock_stale_seconds)
        if (
            task is not None
            and task.status not in ("success", "failure")
            and (task.updated_at > stale)
        ):
            raise Conflict(f"Image is already being imported or changed by task {holder}")
    await set_prop(s, image_id, LOCK, task_id)


async def locked_image(s: AsyncSession, image_id: str, task_id: str) -> Image:
    """The image row, locked, if it still exists and ``task_id`` holds its lock."""
    image = (await s.exec(select(Image).where(Image.id == image_id).with_for_update())).first()
    if image is None or image.deleted:
        raise Gone(f"Image {image_id} was deleted while task {task_id} ran")
    if await get_prop(s, image_id, LOCK) != task_id:
        raise Conflict(f"Task {task_id} no longer holds the lock of image {image_id}")
    return image


async def holds(s: AsyncSession, image_id: str, task_id: str) -> bool:
    return await get_prop(s, image_id, LOCK) == task_id


def task_ctx(task: Task) -> RequestContext:
    """The caller a task acts for. Authorization happened when the task was accepted; the
    roles here only let the steps reuse operations that re-check policy."""
    principal = Principal(
        user_id=task.user_id,
        project_id=task.owner,
        roles=frozenset({"admin", "member", "reader"}),
    )
    return RequestContext(principal=principal, request_id=task.request_id or f"req-{task.id}")
