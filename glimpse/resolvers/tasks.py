"""Task operations for both APIs: list, show, the tasks of images, the legacy import task.

Glance's ``/v2/tasks`` API is admin-only (``tasks_api_access``); the product's own API lets
project readers see their own project's tasks (``get_tasks``/``get_task``) and everyone see
the tasks of images they may see and own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, exists, false, or_, true
from sqlmodel import col, select

from glimpse.core.context import RequestContext
from glimpse.core.errors import InvalidInput, NotFound
from glimpse.models.tables import Image, Task
from glimpse.resolvers import text, web_download
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.images import load_visible
from glimpse.resolvers.task_queue import enqueue, wake

TASK_TYPES = ("import", "api_image_import", "location_import", "copy", "resize")
TASK_STATUSES = ("pending", "processing", "success", "failure")
SORT_KEYS = ("created_at", "updated_at", "id", "type", "status")


@dataclass(frozen=True)
class TaskQuery:
    """Filters and keyset paging of a task list; ``marker`` is the last task id seen."""

    status: str | None = None
    type: str | None = None
    image_id: str | None = None
    marker: str | None = None
    limit: int = 25
    sort_key: str = "created_at"
    sort_dir: Literal["asc", "desc"] = "desc"


@dataclass
class TaskPage:
    items: list[Task]
    has_next: bool


def _scope(ctx: RequestContext) -> ColumnElement[bool]:
    """Tasks of the caller's project, and tasks about images the caller's project owns."""
    if ctx.is_admin:
        return true()
    if ctx.project_id is None:
        return false()
    on_own_image = exists(
        select(Image.id).where(col(Image.id) == col(Task.image_id), Image.owner == ctx.project_id)
    )
    return or_(col(Task.owner) == ctx.project_id, on_own_image)


def _validate(q: TaskQuery) -> None:
    if q.status is not None and q.status not in TASK_STATUSES:
        raise InvalidInput(f"Invalid status value: {q.status}")
    if q.type is not None and q.type not in TASK_TYPES:
        raise InvalidInput(f"Invalid type value: {q.type}")
    if q.sort_key not in SORT_KEYS:
        raise InvalidInput(f"Invalid sort_key: {q.sort_key}")
    if q.sort_dir not in ("asc", "desc"):
        raise InvalidInput(f"Invalid sort_dir: {q.sort_dir}")
    if q.marker is not None:
        try:
            uuid.UUID(q.marker)
        except ValueError as exc:
            raise InvalidInput(f"Invalid marker: {q.marker}") from exc
    if q.limit < 0:
        raise InvalidInput("limit must be >= 0")
    text.check(q.image_id, "image id")


async def list_tasks(
    deps: Deps, ctx: RequestContext, q: TaskQuery, *, glance: bool = False
) -> TaskPage:
    """A page of tasks the caller may see, newest first by default."""
    deps.policy.enforce("tasks_api_access" if glance else "get_tasks", ctx.principal)
    _validate(q)
    limit = min(q.limit, deps.settings.page_max)
    column = getattr(Task, q.sort_key)
    conds = [_scope(ctx), col(Task.deleted).is_(False)]
    if q.status:
        conds.append(col(Task.status) == q.status)
    if q.type:
        conds.append(col(Task.type) == q.type)
    if q.image_id:
        conds.append(col(Task.image_id) == q.image_id)
    async with deps.db.read() as s:
        if q.marker:
            last = await s.get(Task, q.marker)
            if last is None:
                raise InvalidInput(f"Invalid marker: task {q.marker} could not be found")
            conds.append(_after(column, getattr(last, q.sort_key), last.id, q.sort_dir))
        order = (
            [column.desc(), col(Task.id).desc()]
            if q.sort_dir == "desc"
            else [column.asc(), col(Task.id).asc()]
        )
        rows = list(
            (await s.exec(select(Task).where(*conds).order_by(*order).limit(limit + 1))).all()
        )
    return TaskPage(items=rows[:limit], has_next=len(rows) > limit)


def _after(column: Any, value: Any, task_id: str, direction: str) -> ColumnElement[bool]:
    if direction == "desc":
        return or_(column < value, and_(column == value, col(Task.id) < task_id))
    return or_(column > value, and_(column == value, col(Task.id) > task_id))


async def get_task(deps: Deps, ctx: RequestContext, task_id: str, *, glance: bool = False) -> Task:
    """One task; invisible or unknown ids are NotFound."""
    if glance:
        deps.policy.enforce("tasks_api_access", ctx.principal)
    try:
        uuid.UUID(task_id)
    except ValueError as exc:
        raise NotFound(f"Task with identifier {task_id} not found") from exc
    if not deps.policy.allows("get_tasks", ctx.principal):
        raise NotFound(f"Task with identifier {task_id} not found")
    async with deps.db.read() as s:
        task = (
            await s.exec(
                select(Task).where(
                    col(Task.id) == task_id, col(Task.deleted).is_(False), _scope(ctx)
                )
            )
        ).first()
    if task is None:
        raise NotFound(f"Task with identifier {task_id} not found")
    return task


async def image_tasks(deps: Deps, ctx: RequestContext, image_id: str) -> list[Task]:
    """Tasks about a visible image (``GET /v2/images/{id}/tasks``), newest first."""
    async with deps.db.read() as s:
        image, _ = await load_visible(s, deps, ctx, image_id)
        rows = await s.exec(
            select(Task)
            .where(col(Task.image_id) == image.id, col(Task.deleted).is_(False), _scope(ctx))
            .order_by(col(Task.created_at).desc())
        )
        return list(rows)


async def tasks_for_images(
    deps: Deps, ctx: RequestContext, ids: Sequence[str]
) -> dict[str, list[Task]]:
    """Tasks of several images in one query (the GraphQL ``Image.tasks`` loader)."""
    out: dict[str, list[Task]] = {i: [] for i in ids}
    if not ids:
        return out
    async with deps.db.read() as s:
        rows = await s.exec(
            select(Task)
            .where(col(Task.image_id).in_(ids), col(Task.deleted).is_(False), _scope(ctx))
            .order_by(col(Task.created_at).desc())
        )
        for t in rows:
            if t.image_id is not None:
                out[t.image_id].append(t)
    return out


async def create_legacy_import(deps: Deps, ctx: RequestContext, body: Any) -> Task:
    """``POST /v2/tasks``: Glance's old import task (create an image from a URL)."""
    deps.policy.enforce("tasks_api_access", ctx.principal)
    deps.policy.enforce("add_task", ctx.principal)
    if not isinstance(body, dict) or "type" not in body or "input" not in body:
        raise InvalidInput("A task needs 'type' and 'input'")
    if body["type"] != "import":
        raise InvalidInput(f"Invalid type value: {body['type']}")
    inp = body["input"]
    if not isinstance(inp, dict):
        raise InvalidInput("Task input must be an object")
    text.check_tree(inp, "task input")
    for key in ("import_from", "import_from_format", "image_properties"):
        if key not in inp:
            raise InvalidInput(f"Input does not contain '{key}' field")
    if not isinstance(inp["image_properties"], dict):
        raise InvalidInput("image_properties must be an object")
    await web_download.check(
        deps.settings.imports, inp["import_from"], web_download.resolver_of(deps)
    )
    async with deps.db.begin() as s:
        task = enqueue(s, ctx, "import", dict(inp), image_id=str(uuid.uuid4()))
    wake(deps)
    return task
