"""Change feeds for subscriptions, read from the database so they work across processes:
a task's progress (its row) and an image's status changes (the image_events log).

Polling the database keeps one mechanism for SQLite and PostgreSQL and for any mix of
API processes and workers; the cost is one indexed query per watcher per poll interval.

A feed is a long-lived read on one credential, so access is not checked once at the
start: before anything is delivered the caller must still be allowed to see it. The
feed ends (the subscription completes) as soon as

- the credential expires (checked every poll, without I/O),
- a login token is revoked (account removed, password changed),
- the image is no longer visible to the caller (made private, membership removed,
  deleted) or the task is no longer visible,

checked on every batch of new events and, while nothing happens, every
``recheck_seconds``. Events are filtered as the image log is for the caller
(:func:`glimpse.resolvers.events.visible_to`): other members' records stay hidden.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlmodel import col, select

from glimpse.core.context import RequestContext
from glimpse.core.errors import NotFound
from glimpse.models.tables import Image, ImageEvent, Task
from glimpse.resolvers.accounts import account_token_valid
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.events import visible_to
from glimpse.resolvers.images import load_visible
from glimpse.resolvers.task_queue import TERMINAL
from glimpse.resolvers.tasks import get_task

RECHECK_SECONDS = 5.0


def credential_expired(ctx: RequestContext, now: float | None = None) -> bool:
    """Whether the caller's credential has passed its expiry (no I/O)."""
    exp = ctx.principal.expires_at
    return exp is not None and (now if now is not None else time.time()) >= exp


async def credential_valid(deps: Deps, ctx: RequestContext) -> bool:
    """Not expired, and (for login tokens) not revoked since it was issued."""
    return not credential_expired(ctx) and await account_token_valid(deps, ctx.principal)


class _Recheck:
    """When the next full access check is due: on new data, or after a quiet interval."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = time.monotonic()

    def due(self, changed: bool) -> bool:
        if changed or time.monotonic() - self.last >= self.seconds:
            self.last = time.monotonic()
            return True
        return False


async def watch_task(
    deps: Deps, ctx: RequestContext, task_id: str, *, recheck_seconds: float = RECHECK_SECONDS
) -> AsyncIterator[Task]:
    """Yield the task now and after every change, until it finishes or access ends."""
    last: tuple[object, ...] | None = None
    recheck = _Recheck(recheck_seconds)
    while True:
        if credential_expired(ctx):
            return
        try:
            task = await get_task(deps, ctx, task_id)  # visibility, on every poll
        except NotFound:
            return
        key = (task.status, task.progress, task.message, task.updated_at)
        if recheck.due(key != last) and not await credential_valid(deps, ctx):
            return
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


async def watch_image(
    deps: Deps, ctx: RequestContext, image_id: str, *, recheck_seconds: float = RECHECK_SECONDS
) -> AsyncIterator[ImageChange]:
    """Yield the current state, then the caller's view of each logged change, for as long
    as the caller may see the image (see the module docstring)."""
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
    recheck = _Recheck(recheck_seconds)
    while True:
        await asyncio.sleep(deps.settings.tasks.poll_seconds)
        if credential_expired(ctx):
            return
        rows = await _events_after(deps, image.id, last_id)
        if recheck.due(bool(rows)):
            current = await _still_visible(deps, ctx, image.id)
            if current is None:
                return
            image = current
        for ev in visible_to(ctx, image.owner, rows):
            yield ImageChange(image, ev)
        if rows:
            last_id = rows[-1].id or last_id


async def _events_after(deps: Deps, image_id: str, last_id: int) -> list[ImageEvent]:
    async with deps.db.read() as s:
        stmt = (
            select(ImageEvent)
            .where(ImageEvent.image_id == image_id, col(ImageEvent.id) > last_id)
            .order_by(col(ImageEvent.id))
        )
        return list((await s.exec(stmt)).all())


async def _still_visible(deps: Deps, ctx: RequestContext, image_id: str) -> Image | None:
    """The image as the caller may see it now, or ``None`` when access has ended."""
    if not await credential_valid(deps, ctx):
        return None
    try:
        async with deps.db.read() as s:
            image, _ = await load_visible(s, deps, ctx, image_id)
    except NotFound:
        return None
    return image
