"""A worker thread fed by a bounded queue, for CPU- or I/O-bound work on upload chunks.

Hashing (hashlib releases the GIL on large buffers) and file writes run here so the event
loop only moves references around. One long-lived thread per job beats ``to_thread`` per
chunk: no executor round trip per chunk, and two sinks run truly in parallel on two cores.
The bounded queue gives back-pressure; the event loop never blocks on a full queue.
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


class ThreadSink:
    """Runs ``consume(chunk)`` for every sent chunk, in order, in one daemon thread.

    Errors raised by ``consume`` are kept and re-raised by the next :meth:`send` or by
    :meth:`close`; after an error the thread drains the queue so a sender never blocks.
    Always end with :meth:`close` (success) or :meth:`abort` (any failure): both stop the
    thread.
    """

    def __init__(self, consume: Callable[[bytes], object], *, name: str, depth: int = 8) -> None:
        self._consume = consume
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=max(2, depth))
        self._aborted = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
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
        """Queue a non-empty chunk; waits (off the loop) only when the queue is full."""
        self._raise_if_failed()
        if not chunk:
            return
        try:
            self._queue.put_nowait(chunk)
        except queue.Full:
            await asyncio.to_thread(self._queue.put, chunk)

    async def close(self) -> None:
        """Flush: wait until every queued chunk is consumed, then re-raise any error."""
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            await asyncio.to_thread(self._queue.put, _STOP)
        await asyncio.to_thread(self._thread.join)
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
