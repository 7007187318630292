"""GraphQL for tasks: the federated ``Task`` entity, queries, the image action mutations
(import, copy, resize) and the live progress subscriptions."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types.unset import UNSET

from glimpse.core.errors import GlimpseError, InvalidInput, NotFound
from glimpse.models.tables import Task as TaskRow
from glimpse.resolvers import actions, imports, tasks, watch
from glimpse.resolvers.imports import ImportRequest
from glimpse.resolvers.tasks import TaskQuery as ListTasks
from glimpse.schema.context import Info
from glimpse.schema.scalars import JSON, BigInt
from glimpse.schema.types import Image, ImageStatus


@strawberry.enum(description="Lifecycle of a task.")
class TaskStatus(enum.Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCESS = "success"
    FAILURE = "failure"


@strawberry.federation.type(keys=["id"], description="A durable background job.")
class Task:
    row: strawberry.Private[TaskRow]

    @strawberry.field(description="Task id (UUID).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.row.id)

    @strawberry.field(description="api_image_import, import, copy or resize.")
    def type(self) -> str:
        return self.row.type

    @strawberry.field(description="Lifecycle status.")
    def status(self) -> TaskStatus:
        return TaskStatus(self.row.status)

    @strawberry.field(description="Progress in percent (0-100).")
    def progress(self) -> int:
        return self.row.progress

    @strawberry.field(description="Latest progress message, or why the task failed.")
    def message(self) -> str:
        return self.row.message

    @strawberry.field(description="What the task was asked to do.")
    def input(self) -> JSON:
        return JSON(self.row.input)

    @strawberry.field(description="What the task produced (once successful).")
    def result(self) -> JSON | None:
        return None if self.row.result is None else JSON(self.row.result)

    @strawberry.field(description="Owning project.")
    def owner(self) -> str | None:
        return self.row.owner

    @strawberry.field(description="How many times a runner started it.")
    def attempts(self) -> int:
        return self.row.attempts

    @strawberry.field(description="The image the task works on (for copies: the new image).")
    async def image(self, info: Info) -> Image | None:
        if self.row.image_id is None:
            return None
        record = await info.context.loaders.images.load(self.row.image_id)
        return Image(record.image, record) if record is not None else None

    @strawberry.field(description="Creation time (UTC).")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="Last change (UTC).")
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field(description="When a finished task will be purged (UTC).")
    def expires_at(self) -> datetime | None:
        return self.row.expires_at

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Task | None:
        """Federation entity lookup; unknown or invisible ids resolve to null.
        Anonymous callers get UNAUTHENTICATED, as REST answers 401."""
        ctx = info.context.caller()
        try:
            row = await tasks.get_task(info.context.deps, ctx, str(id))
        except GlimpseError:
            return None
        return cls(row=row)


@strawberry.type(description="A page of tasks, newest first.")
class TaskPage:
    nodes: list[Task] = strawberry.field(description="The tasks of this page.")
    end_cursor: str | None = strawberry.field(description="Pass as after for the next page.")
    has_next_page: bool = strawberry.field(description="More tasks after this page.")


@strawberry.type
class TaskQueryMixin:
    @strawberry.field(description="Tasks of your project (all tasks for admins).")
    async def tasks(
        self,
        info: Info,
        status: TaskStatus | None = None,
        type: str | None = None,
        image_id: strawberry.ID | None = None,
        first: int = 25,
        after: str | None = None,
    ) -> TaskPage:
        query = ListTasks(
            status=status.value if status else None,
            type=type,
            image_id=str(image_id) if image_id else None,
            marker=after,
            limit=first,
        )
        page = await tasks.list_tasks(info.context.deps, info.context.caller(), query)
        nodes = [Task(row=t) for t in page.items]
        end = page.items[-1].id if page.items else None
        return TaskPage(nodes=nodes, end_cursor=end, has_next_page=page.has_next)

    @strawberry.field(description="One task by id, or null when absent or not visible.")
    async def task(self, info: Info, id: strawberry.ID) -> Task | None:
        try:
            row = await tasks.get_task(info.context.deps, info.context.caller(), str(id))
        except NotFound:
            return None
        return Task(row=row)


@strawberry.enum(description="Interoperable import methods.")
class ImportMethod(enum.Enum):
    GLANCE_DIRECT = "glance-direct"
    WEB_DOWNLOAD = "web-download"
    COPY_IMAGE = "copy-image"


@strawberry.input(description="How to import data into an image.")
class ImportImageInput:
    method: ImportMethod = strawberry.field(description="Where the data comes from.")
    uri: str | None = strawberry.field(default=UNSET, description="URL for web-download.")
    stores: list[str] | None = strawberry.field(default=UNSET, description="Target stores.")
    all_stores: bool = strawberry.field(default=False, description="Import to every store.")
    all_stores_must_succeed: bool = strawberry.field(
        default=True, description="Fail the import when any store fails."
    )


async def _task(info: Info, task_id: str) -> Task:
    return Task(row=await tasks.get_task(info.context.deps, info.context.caller(), task_id))


@strawberry.type
class TaskMutationMixin:
    @strawberry.mutation(description="Import data (staged, from a URL, or to more stores).")
    async def import_image(self, info: Info, id: strawberry.ID, input: ImportImageInput) -> Task:
        req = ImportRequest(
            method=input.method.value,
            uri=input.uri or None,
            stores=tuple(input.stores) if input.stores else None,
            all_stores=input.all_stores,
            all_stores_must_succeed=input.all_stores_must_succeed,
        )
        task_id = await imports.start_import(info.context.deps, info.context.caller(), str(id), req)
        return await _task(info, task_id)

    @strawberry.mutation(
        description="Copy an image: a new image with the same metadata whose data a task "
        "copies to a store (default store, a store id, or a location URL inside a store)."
    )
    async def copy_image(
        self, info: Info, id: strawberry.ID, target: str | None = None, name: str | None = None
    ) -> Task:
        raw = {"target": target, "name": name} if name is not None else target
        task_id, _ = await actions.copy(info.context.deps, info.context.caller(), str(id), raw)
        return await _task(info, task_id)

    @strawberry.mutation(description="Resize the virtual disk (raw, qcow2) with qemu-img.")
    async def resize_image(
        self, info: Info, id: strawberry.ID, size: BigInt, shrink: bool = False
    ) -> Task:
        if int(size) <= 0:
            raise InvalidInput("size must be positive")
        raw = {"size": int(size), "shrink": shrink}
        task_id = await actions.resize(info.context.deps, info.context.caller(), str(id), raw)
        return await _task(info, task_id)


@strawberry.type(description="An image's status after one of its changes.")
class ImageStatusChange:
    image_id: strawberry.ID = strawberry.field(description="The image.")
    status: ImageStatus = strawberry.field(description="Status after the change.")
    action: str | None = strawberry.field(description="The logged action (null: initial).")
    at: datetime | None = strawberry.field(description="When it happened.")
    changes: JSON | None = strawberry.field(description="The logged change.")


@strawberry.type(description="Live updates, over WebSocket (graphql-transport-ws).")
class Subscription:
    @strawberry.subscription(
        description="A task as it progresses; ends when it finishes or the caller may no "
        "longer see it (task gone, credential expired or revoked)."
    )
    async def task_progress(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Task, None]:
        deps = info.context.deps
        every = deps.settings.graphql.subscription_recheck_seconds
        async for row in watch.watch_task(
            deps, info.context.caller(), str(id), recheck_seconds=every
        ):
            yield Task(row=row)

    @strawberry.subscription(
        description="An image's status, then each change to it, as the caller's view of the "
        "image log; ends when the caller may no longer see the image (made private, "
        "membership removed, deleted) or the credential expires or is revoked."
    )
    async def image_status(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[ImageStatusChange, None]:
        ctx, deps = info.context.caller(), info.context.deps
        every = deps.settings.graphql.subscription_recheck_seconds
        async for ch in watch.watch_image(deps, ctx, str(id), recheck_seconds=every):
            ev = ch.event
            yield ImageStatusChange(
                image_id=strawberry.ID(ch.image.id),
                status=ImageStatus(ch.image.status),
                action=ev.action if ev else None,
                at=ev.at if ev else None,
                changes=JSON(ev.changes) if ev else None,
            )
