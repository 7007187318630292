"""The task runner: claims rows of the task table and runs their handlers.

The same runner runs inside ``glimpse serve`` (a lifespan hook, the embedded default) and
as ``glimpse worker`` processes. While a handler runs, a keeper renews the lease every
third of its length; if renewal fails (the runner was presumed dead and the task claimed
again elsewhere) the handler is cancelled and its result discarded. Handlers are made of
idempotent steps, so a task claimed again after a crash simply runs again.

Outcomes: success -> ``success`` with the handler's result; an expected failure (a
GlimpseError), or running longer than ``tasks.time_limit_seconds`` -> the handler's
cleanup, then ``failure`` with the message; a store outage
-> back to ``pending`` with a growing delay, up to ``tasks.max_attempts``; shutdown -> back
to ``pending`` at once so another runner takes over without waiting for the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from glimpse.core.errors import GlimpseError, IntegrityError, StoreUnavailable
from glimpse.models.tables import Task
from glimpse.resolvers import redact, sweep
from glimpse.resolvers import task_queue as queue
from glimpse.resolvers.deps import Deps

log = logging.getLogger(__name__)
PURGE_EVERY = 60.0
SWEEP_EVERY = 3600.0  # orphan blobs (resolvers/sweep.py); the first run is an hour after start
REPORT_EVERY = 0.5

Run = Callable[[Deps, Task, queue.Progress], Awaitable[dict[str, Any] | None]]
Cleanup = Callable[[Deps, Task, str], Awaitable[None]]


@dataclass(frozen=True)
class Handler:
    """What a task type does (``run``) and how a failure is cleaned up (``failed``)."""

    run: Run
    failed: Cleanup


class _Reporter:
    """Progress writes, throttled: a tight copy loop must not become a write storm."""

    def __init__(self, deps: Deps, task: Task, worker: str) -> None:
        self.deps, self.task, self.worker = deps, task, worker
        self._last_at = 0.0

    async def __call__(self, percent: int, message: str) -> None:
        now = time.monotonic()
        if percent < 100 and now - self._last_at < REPORT_EVERY:
            return
        self._last_at = now
        await queue.report(self.deps, self.task.id, self.worker, percent, message)


class Runner:
    """Claims and runs tasks until stopped; ``concurrency`` tasks at a time."""

    def __init__(
        self,
        deps: Deps,
        handlers: Mapping[str, Handler] | None = None,
        *,
        worker_id: str | None = None,
        concurrency: int | None = None,
    ) -> None:
        from glimpse.tasks.handlers import HANDLERS

        self.deps = deps
        self.handlers = dict(HANDLERS if handlers is None else handlers)
        self.worker = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency or deps.settings.tasks.concurrency
        self.wakeup = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        deps.extras[queue.WAKEUP] = self.wakeup

    async def run(self, stop: asyncio.Event) -> None:
        """Poll, claim and dispatch until ``stop`` is set; then hand back running tasks."""
        last_purge, last_sweep = 0.0, time.monotonic()
        sweeping: asyncio.Task[Any] | None = None
        try:
            while not stop.is_set():
                if time.monotonic() - last_purge > PURGE_EVERY:
                    last_purge = time.monotonic()
                    await self._safely(queue.purge(self.deps))
                if time.monotonic() - last_sweep > SWEEP_EVERY and (
                    sweeping is None or sweeping.done()
                ):
                    # In the background: listing a large bucket must not stall claiming.
                    last_sweep = time.monotonic()
                    sweeping = asyncio.create_task(self._safely(self._sweep()))
                await self._fill()
                await self._wait(stop)
        finally:
            if sweeping is not None:
                sweeping.cancel()
            for t in list(self._running):
                t.cancel()
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)

    async def _fill(self) -> None:
        while len(self._running) < self.concurrency:
            task = await self._safely(queue.claim(self.deps, self.worker))
            if task is None:
                return
            job = asyncio.create_task(self.execute(task))
            self._running.add(job)
            job.add_done_callback(self._done)

    def _done(self, job: asyncio.Task[None]) -> None:
        self._running.discard(job)
        self.wakeup.set()

    async def _wait(self, stop: asyncio.Event) -> None:
        self.wakeup.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.deps.settings.tasks.poll_seconds):
                waiters = [
                    asyncio.create_task(stop.wait()),
                    asyncio.create_task(self.wakeup.wait()),
                ]
                try:
                    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waiters:
                        w.cancel()

    async def _sweep(self) -> None:
        await sweep.sweep(self.deps)

    async def _safely(self, aw: Awaitable[Any]) -> Any:
        """Database hiccups must not kill the loop; log and try again next round."""
        try:
            return await aw
        except Exception:
            log.exception("task queue operation failed")
            return None

    async def run_one(self) -> bool:
        """Claim and run a single task to its end (tests, ``worker --once``)."""
        task = await queue.claim(self.deps, self.worker)
        if task is None:
            return False
        await self.execute(task)
        return True

    async def execute(self, task: Task) -> None:
        """Run one claimed task with a renewed lease and record its outcome."""
        handler = self.handlers.get(task.type)
        if handler is None:
            await queue.complete(
                self.deps, task.id, self.worker, "failure", message=f"unknown type {task.type}"
            )
            return
        if task.attempts > self.deps.settings.tasks.max_attempts:
            await self._fail(handler, task, f"gave up after {task.attempts - 1} attempts")
            return
        log.info(
            "task %s (%s) attempt %d claimed by %s", task.id, task.type, task.attempts, self.worker
        )
        lost = asyncio.Event()
        limit = self.deps.settings.tasks.time_limit_seconds
        async with self._keep_lease(task, lost):
            try:
                async with asyncio.timeout(limit if limit > 0 else None) as clock:
                    result = await handler.run(
                        self.deps, task, _Reporter(self.deps, task, self.worker)
                    )
            except TimeoutError:
                if clock.expired():
                    message = f"the task exceeded its time limit of {limit} s"
                else:
                    log.exception("task %s (%s) failed unexpectedly", task.id, task.type)
                    message = "internal error: TimeoutError"
                await self._fail(handler, task, message)
                return
            except asyncio.CancelledError:
                if not lost.is_set():
                    with anyio.CancelScope(shield=True):
                        await queue.release(self.deps, task.id, self.worker, message="interrupted")
                raise
            except queue.LeaseLost:
                log.warning("task %s: lease lost, leaving it to its new runner", task.id)
                return
            except IntegrityError as exc:
                # Corrupt data stays corrupt: retrying would only copy it again.
                await self._fail(handler, task, exc.message, exc)
                return
            except StoreUnavailable as exc:
                await self._retry_or_fail(handler, task, exc)
                return
            except GlimpseError as exc:
                await self._fail(handler, task, exc.message, exc)
                return
            except Exception as exc:
                log.exception("task %s (%s) failed unexpectedly", task.id, task.type)
                await self._fail(handler, task, f"internal error: {type(exc).__name__}")
                return
        if lost.is_set():
            return
        await queue.complete(self.deps, task.id, self.worker, "success", result=result or {})

    async def _fail(
        self, handler: Handler, task: Task, message: str, exc: GlimpseError | None = None
    ) -> None:
        """``message`` is what task and image readers see; ``exc``'s details are logged."""
        if exc is not None:
            redact.log_failure(f"task {task.id} ({task.type})", exc, task.request_id)
        try:
            await handler.failed(self.deps, task, message)
        except Exception:
            log.exception("task %s: cleanup after failure failed", task.id)
        await queue.complete(self.deps, task.id, self.worker, "failure", message=message)

    async def _retry_or_fail(self, handler: Handler, task: Task, exc: GlimpseError) -> None:
        if task.attempts >= self.deps.settings.tasks.max_attempts:
            await self._fail(handler, task, exc.message, exc)
            return
        delay = min(300.0, 2.0**task.attempts)
        log.warning("task %s: %s; retrying in %.0f s", task.id, exc.message, delay)
        await queue.release(self.deps, task.id, self.worker, delay=delay, message=exc.message)

    @contextlib.asynccontextmanager
    async def _keep_lease(self, task: Task, lost: asyncio.Event) -> AsyncIterator[None]:
        owner = asyncio.current_task()
        period = max(0.2, self.deps.settings.tasks.lease_seconds / 3)

        async def keeper() -> None:
            while True:
                await asyncio.sleep(period)
                try:
                    still = await queue.renew(self.deps, task.id, self.worker)
                except Exception:
                    log.exception("task %s: lease renewal failed", task.id)
                    continue
                if not still:
                    lost.set()
                    if owner is not None:
                        owner.cancel()
                    return

        keep = asyncio.create_task(keeper())
        try:
            yield
        except asyncio.CancelledError:
            if lost.is_set():
                log.warning("task %s: lease lost, handler cancelled", task.id)
                if owner is not None:
                    owner.uncancel()
                return
            raise
        finally:
            keep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keep


@contextlib.asynccontextmanager
async def runner_hook(deps: Deps) -> AsyncIterator[None]:
    """Lifespan hook of ``glimpse serve``: runs a runner beside the API."""
    stop = asyncio.Event()
    runner = Runner(deps)
    loop_task = asyncio.create_task(runner.run(stop))
    try:
        yield
    finally:
        stop.set()
        try:
            async with asyncio.timeout(15):
                await loop_task
        except TimeoutError:
            loop_task.cancel()
