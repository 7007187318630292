"""The task table as a queue, on SQLite and PostgreSQL: atomic claims, leases, expiry,
reclaim, progress, completion, purge."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from glimpse.core.clock import utcnow
from glimpse.models.tables import Task
from glimpse.resolvers import task_queue as queue
from glimpse.tasks.runner import Handler, Runner
from tests.conftest import ctx


async def _enqueue(deps: Any, n: int = 1, type_: str = "noop") -> list[str]:
    ids = []
    async with deps.db.begin() as s:
        for i in range(n):
            ids.append(queue.enqueue(s, ctx("P1", "member"), type_, {"i": i}).id)
    return ids


async def test_claims_are_exclusive_under_concurrency(deps: Any) -> None:
    ids = await _enqueue(deps, 6)
    claimed = await asyncio.gather(*(queue.claim(deps, f"w{i}") for i in range(12)))
    got = [t.id for t in claimed if t is not None]
    assert sorted(got) == sorted(ids)  # every task once, none twice
    assert all(t.status == "processing" and t.attempts == 1 for t in claimed if t)


async def test_lease_guards_every_write_and_expired_lease_is_reclaimed(deps: Any) -> None:
    [tid] = await _enqueue(deps)
    first = await queue.claim(deps, "w1")
    assert first is not None
    assert await queue.claim(deps, "w2") is None  # lease still valid
    await queue.report(deps, tid, "w1", 40, "half way")
    async with deps.db.begin() as s:  # w1 "dies": its lease runs out
        await s.exec(
            update(Task)
            .where(col(Task.id) == tid)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    second = await queue.claim(deps, "w2")
    assert second is not None
    assert second.id == tid
    assert second.attempts == 2
    assert not await queue.renew(deps, tid, "w1")
    try:
        await queue.report(deps, tid, "w1", 50, "stale writer")
        raise AssertionError("a stale runner could still write")
    except queue.LeaseLost:
        pass
    assert not await queue.complete(deps, tid, "w1", "success")
    assert await queue.complete(deps, tid, "w2", "success", result={"ok": True})
    done = await queue.load(deps, tid)
    assert done is not None
    assert (done.status, done.progress, done.result) == ("success", 100, {"ok": True})
    assert done.expires_at is not None
    assert done.expires_at > utcnow() + timedelta(hours=47)


async def test_purge_removes_only_expired_finished_tasks(deps: Any) -> None:
    old, fresh, pending = await _enqueue(deps, 3)
    for _tid in (old, fresh):
        assert (await queue.claim(deps, "w")) is not None
    await queue.complete(deps, old, "w", "failure", message="x")
    await queue.complete(deps, fresh, "w", "success")
    async with deps.db.begin() as s:
        await s.exec(
            update(Task)
            .where(col(Task.id) == old)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await queue.purge(deps) == 1
    assert await queue.load(deps, old) is None
    assert await queue.load(deps, fresh) is not None
    assert await queue.load(deps, pending) is not None


async def test_runner_outcomes(deps: Any) -> None:
    from glimpse.core.errors import InvalidInput, StoreUnavailable

    cleaned: list[str] = []

    async def ok(deps: Any, task: Task, progress: Any) -> dict[str, Any]:
        await progress(50, "working")
        return {"done": task.input["i"]}

    async def bad(deps: Any, task: Task, progress: Any) -> None:
        raise InvalidInput("nope")

    async def flaky(deps: Any, task: Task, progress: Any) -> None:
        raise StoreUnavailable("store down")

    async def cleanup(deps: Any, task: Task, message: str) -> None:
        cleaned.append(message)

    handlers = {n: Handler(f, cleanup) for n, f in (("ok", ok), ("bad", bad), ("flaky", flaky))}
    runner = Runner(deps, handlers, worker_id="t")
    [a] = await _enqueue(deps, type_="ok")
    [b] = await _enqueue(deps, type_="bad")
    [c] = await _enqueue(deps, type_="flaky")
    while await runner.run_one():
        pass
    ta, tb, tc = [await queue.load(deps, i) for i in (a, b, c)]
    assert ta is not None
    assert (ta.status, ta.result) == ("success", {"done": 0})
    assert tb is not None
    assert (tb.status, tb.message) == ("failure", "nope")
    assert cleaned == ["nope"]
    # a store outage is retried later, not failed
    assert tc is not None
    assert (tc.status, tc.message) == ("pending", "store down")
    assert tc.available_at > utcnow()


async def test_runner_gives_up_after_max_attempts(deps: Any) -> None:
    deps.settings = replace(deps.settings, tasks=replace(deps.settings.tasks, max_attempts=1))
    seen: list[str] = []

    async def never(deps: Any, task: Task, progress: Any) -> None:
        raise AssertionError("must not run")

    async def cleanup(deps: Any, task: Task, message: str) -> None:
        seen.append(message)

    [tid] = await _enqueue(deps, type_="x")
    async with deps.db.begin() as s:
        await s.exec(update(Task).where(col(Task.id) == tid).values(attempts=1))
    assert await Runner(deps, {"x": Handler(never, cleanup)}, worker_id="t").run_one()
    task = await queue.load(deps, tid)
    assert task is not None
    assert task.status == "failure"
    assert seen == ["gave up after 1 attempts"]
