"""One SQLite writer at a time, queued without blocking the event loop or polling.

SQLite has one write lock per database file. Left to itself, a writer that finds it taken
sleeps and retries with growing pauses (its busy handler); under 32 concurrent writers that
turned into multi-second waits while the lock sat free between retries. And a writer that
waits inside the driver blocks whatever thread it runs on, which for inline drivers is the
event loop.

So every write transaction first takes this gate:

* in the process, an :class:`asyncio.Lock` (FIFO: writers are served in arrival order);
* across processes (API workers, task workers, CLI commands), ``flock`` on a file beside the
  database. An uncontended lock costs one system call; a contended one is waited for in a
  thread, which the kernel wakes the moment the holder lets go.

With the gate held, ``BEGIN IMMEDIATE`` finds the database lock free at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from glimpse.core.errors import StoreUnavailable

WAIT_SECONDS = 30.0


class WriteGate:
    """The write gate of one SQLite file (see the module docstring)."""

    def __init__(self, db_path: Path, wait_seconds: float = WAIT_SECONDS) -> None:
        self.path = db_path.with_name(db_path.name + ".write-lock")
        self.wait_seconds = wait_seconds
        self._fd: int | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="glimpse-gate")

    def _local_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    def _file(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Hold the gate for the body of the ``async with``."""
        lock = self._local_lock()
        await lock.acquire()
        fd = self._file()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await self._wait(fd, lock)  # on failure it has arranged the release itself
        except BaseException:
            lock.release()
            raise
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            lock.release()

    async def _wait(self, fd: int, lock: asyncio.Lock) -> None:
        """Wait in a thread for the file lock another process holds."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._waiter, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.wait_for(asyncio.shield(future), self.wait_seconds)
        except BaseException as exc:
            # The thread may still wait for the file lock. Keep the in-process lock until it
            # is done, then give both back: no other coroutine may believe it holds the file
            # lock meanwhile (flock locks belong to the open file, shared by the process).
            future.add_done_callback(lambda f: self._give_back(f, lock))
            if isinstance(exc, TimeoutError):
                raise StoreUnavailable(
                    "The database is busy: another process has held its write lock for "
                    f"more than {self.wait_seconds:.0f} s"
                ) from exc
            raise

    def _give_back(self, future: asyncio.Future[None], lock: asyncio.Lock) -> None:
        if not future.cancelled() and future.exception() is None:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        lock.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._waiter.shutdown(wait=False)
