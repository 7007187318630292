"""A worker thread fed by a bounded queue, for CPU- or I/O-bound work on upload chunks.

Hashing (hashlib releases the GIL on large buffers) and file writes run here so the event
loop only moves references around. One long-lived thread per job beats ``to_thread`` per
chunk: no executor round trip per chunk, and two sinks run truly in parallel on two cores.
The bounded queue gives back-pressure; on a full queue the sender awaits a future the
worker resolves, so the event loop never blocks and no executor thread is tied up.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Final

_STOP: Final = b""  # never a real item: senders skip empty chunks
_ABORT_JOIN_SECONDS: Final = 10.0


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # a cancelled sender leaves a cancelled future behind
        waiter.set_result(None)


class ThreadSink:
    """Runs ``consume(chunk)`` for every sent chunk, in order, in one daemon thread.

    Errors raised by ``consume`` are kept and re-raised by the next :meth:`send` or by
    :meth:`close`; after an error the thread drains the queue so a sender never blocks.
    Always end with :meth:`close` (success) or :meth:`abort` (any failure): both stop the
    thread. Create it inside the event loop that will call :meth:`send`.
    """

    def __init__(self, consume: Callable[[bytes], object], *, name: str, depth: int = 8) -> None:
        self._consume = consume
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=max(2, depth))
        self._aborted = False
        self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[None] | None = None
        self._low_water = self._queue.maxsize // 2
        self.error: BaseException | None = None
        self._finished: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._drain()
        finally:
            with suppress(RuntimeError):  # loop already closed: nobody waits any more
                self._loop.call_soon_threadsafe(_resolve, self._finished)

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            self._wake_sender()
            if item is _STOP or self._aborted:
                return
            if self.error is not None:
                continue
            try:
                self._consume(item)
            except BaseException as exc:  # kept and re-raised in the event loop
                self.error = exc

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    async def send(self, chunk: bytes) -> None:
        """Queue a non-empty chunk; when the queue is full, wait without blocking the loop."""
        self._raise_if_failed()
        if chunk:
            await self._put(chunk)

    async def _put(self, item: bytes) -> None:
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                waiter = self._loop.create_future()
                self._waiter = waiter
                if not self._queue.full():  # the worker took one before it saw the waiter
                    self._waiter = None
                    continue
                await waiter

    def _wake_sender(self) -> None:
        """Worker side: resume a waiting sender once the queue is half empty.

        Waking at a low-water mark (not on every item) lets the sender refill the queue in
        one burst, so the loop is woken once per ``depth / 2`` chunks, not per chunk.
        """
        waiter = self._waiter
        if waiter is not None and self._queue.qsize() <= self._low_water:
            self._waiter = None
            with suppress(RuntimeError):  # loop already closed: nobody is waiting any more
                self._loop.call_soon_threadsafe(_resolve, waiter)

    async def close(self) -> None:
        """Flush: wait until every queued chunk is consumed, then re-raise any error.

        The thread tells the loop it has finished; waiting for it with ``to_thread(join)``
        tied up one of the loop's few executor threads per upload, and thirty concurrent
        uploads then queued behind each other's joins for seconds."""
        await self._put(_STOP)
        await self._finished
        self._raise_if_failed()

    def abort(self) -> None:
        """Stop the thread now, dropping queued chunks.

        Synchronous on purpose: it runs in ``finally`` blocks of cancelled tasks, where a
        further ``await`` may be cancelled again. The join is short: the thread finishes
        at most the chunk it is working on.
        """
        self._aborted = True
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        # A racing put may have refilled the queue; the thread then sees _aborted anyway.
        with suppress(queue.Full):
            self._queue.put_nowait(_STOP)
        self._thread.join(_ABORT_JOIN_SECONDS)

    @property
    def alive(self) -> bool:
        """Whether the worker thread still runs (tests use this to prove it stopped)."""
        return self._thread.is_alive()
