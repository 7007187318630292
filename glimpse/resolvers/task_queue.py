"""The task table is the queue: enqueue, claim, lease, progress, finish, purge.

A task row is added to the session of the change that asks for it, so the work exists if
and only if the change committed. Runners (in ``glimpse serve`` or ``glimpse worker``)
claim one row at a time: on PostgreSQL with ``SELECT ... FOR UPDATE SKIP LOCKED`` so
concurrent claimers never wait for each other; on SQLite the write transaction already
holds the database lock (``BEGIN IMMEDIATE``, see glimpse.core.db). Either way the claim
is a conditional ``UPDATE`` that only succeeds on a row still claimable, and every later
write by the runner is conditional on its lease (``lease_owner``), so a runner that lost
its lease (it was presumed dead and the task was claimed again) can no longer change it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy import delete as sa_delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import Conflict
from glimpse.models.tables import Task
from glimpse.resolvers.deps import Deps

WAKEUP = "task_wakeup"
# What a running task step calls to report progress: (percent 0-100, message).
Progress = Callable[[int, str], Awaitable[None]]
TERMINAL = frozenset({"success", "failure"})


class LeaseLost(Conflict):
    """The runner no longer holds the task: another runner claimed it after expiry."""

    code = "LEASE_LOST"


def enqueue(
    session: AsyncSession,
    ctx: RequestContext,
    type_: str,
    input_: dict[str, Any],
    *,
    image_id: str | None = None,
    owner: str | None = None,
    task_id: str | None = None,
) -> Task:
    """Add a pending task to the caller's transaction (it runs only if that commits)."""
    now = utcnow()
    task = Task(
        id=task_id or str(uuid.uuid4()),
        type=type_,
        status="pending",
        input=input_,
        owner=owner if owner is not None else ctx.project_id,
        user_id=ctx.principal.user_id,
        image_id=image_id,
        request_id=ctx.request_id,
        created_at=now,
        updated_at=now,
        available_at=now,
    )
    session.add(task)
    return task


def wake(deps: Deps) -> None:
    """Nudge the in-process runner after a commit (other processes poll)."""
    event = deps.extras.get(WAKEUP)
    if event is not None:
        event.set()


def _claimable(now: Any) -> ColumnElement[bool]:
    return and_(
        col(Task.deleted).is_(False),
        or_(
            and_(col(Task.status) == "pending", col(Task.available_at) <= now),
            and_(col(Task.status) == "processing", col(Task.lease_expires_at) < now),
        ),
    )


async def claim(deps: Deps, worker: str) -> Task | None:
    """Take the oldest claimable task (pending, or processing with an expired lease).

    An idle poll is a plain read: on SQLite a write transaction takes the database's
    write lock, which idle runners must not do twice a second.
    """
    now = utcnow()
    async with deps.db.read() as s:
        if (await s.exec(select(Task.id).where(_claimable(now)).limit(1))).first() is None:
            return None
    lease = now + timedelta(seconds=deps.settings.tasks.lease_seconds)
    async with deps.db.begin() as s:
        stmt = (
            select(Task)
            .where(_claimable(now))
            .order_by(col(Task.available_at), col(Task.created_at))
            .limit(1)
        )
        if deps.db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        task = (await s.exec(stmt)).first()
        if task is None:
            return None
        result = await s.exec(
            update(Task)
            .where(col(Task.id) == task.id, _claimable(now))
            .values(
                status="processing",
                lease_owner=worker,
                lease_expires_at=lease,
                attempts=col(Task.attempts) + 1,
                updated_at=now,
            )
        )
        if result.rowcount != 1:
            return None
        await s.refresh(task)
        return task


def _held(task_id: str, worker: str) -> ColumnElement[bool]:
    return and_(
        col(Task.id) == task_id,
        col(Task.lease_owner) == worker,
        col(Task.status) == "processing",
    )


async def renew(deps: Deps, task_id: str, worker: str) -> bool:
    """Extend the lease; False when it was lost."""
    until = utcnow() + timedelta(seconds=deps.settings.tasks.lease_seconds)
    async with deps.db.begin() as s:
        result = await s.exec(
            update(Task).where(_held(task_id, worker)).values(lease_expires_at=until)
        )
        return bool(result.rowcount == 1)


async def report(deps: Deps, task_id: str, worker: str, percent: int, message: str) -> None:
    """Record progress (0-100 and a message); raises :class:`LeaseLost` when not ours."""
    now = utcnow()
    until = now + timedelta(seconds=deps.settings.tasks.lease_seconds)
    async with deps.db.begin() as s:
        result = await s.exec(
            update(Task)
            .where(_held(task_id, worker))
            .values(
                progress=max(0, min(100, percent)),
                message=message[:2000],
                updated_at=now,
                lease_expires_at=until,
            )
        )
        if result.rowcount != 1:
            raise LeaseLost(f"task {task_id} is no longer held by {worker}")


async def complete(
    deps: Deps,
    task_id: str,
    worker: str,
    status: str,
    *,
    result: dict[str, Any] | None = None,
    message: str = "",
) -> bool:
    """Finish a held task in ``success`` or ``failure``; it expires after the TTL."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": status,
        "result": result,
        "message": message[:2000],
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
        "expires_at": now + timedelta(seconds=deps.settings.tasks.ttl_seconds),
    }
    if status == "success":
        values["progress"] = 100
    async with deps.db.begin() as s:
        res = await s.exec(update(Task).where(_held(task_id, worker)).values(**values))
        return bool(res.rowcount == 1)


async def release(
    deps: Deps, task_id: str, worker: str, *, delay: float = 0, message: str = ""
) -> None:
    """Give a held task back to the queue (shutdown, transient failure), after ``delay`` s."""
    now = utcnow()
    async with deps.db.begin() as s:
        await s.exec(
            update(Task)
            .where(_held(task_id, worker))
            .values(
                status="pending",
                lease_owner=None,
                lease_expires_at=None,
                available_at=now + timedelta(seconds=delay),
                message=message[:2000],
                updated_at=now,
            )
        )


async def purge(deps: Deps) -> int:
    """Delete finished tasks whose time to live ran out."""
    async with deps.db.begin() as s:
        result = await s.exec(
            sa_delete(Task).where(
                col(Task.expires_at).is_not(None), col(Task.expires_at) < utcnow()
            )
        )
        return int(result.rowcount or 0)


async def load(deps: Deps, task_id: str) -> Task | None:
    async with deps.db.read() as s:
        return await s.get(Task, task_id)
