"""The upload stream: counts bytes, enforces size limits and hashes, without holding data.

md5 (Glance's ``checksum``) and the multihash (``os_hash_value``, sha512 unless configured
otherwise, see ``glimpse.core.hashing``) each run in their own worker thread fed by a
bounded queue. hashlib releases the GIL on large buffers, so on two cores both digests
cost about as much as the slower one alone; doing them one after the other in the event
loop halves upload throughput (measured in infra.md section 5).

Per-block overhead is paid rarely: small chunks are coalesced into ~1 MiB blocks (one
copy, far cheaper than a thread hand-off and a GIL round trip per 64 KiB chunk), while
chunks of at least a quarter of that pass through uncopied. A store that writes files can
hand its write function to :meth:`HashingStream.attach_writer`: blocks are then written by
the multihash thread right after hashing, while they are still in the CPU cache, instead of
by a third thread (one hand-off, one wake-up and one cold read of every block less).

Typical use, with the store consuming the stream::

    async with HashingStream(request.stream(), max_size=cap, observers=[inspection]) as hs:
        blob = await store.put(key, hs)
    image.checksum, image.os_hash_value, image.size = hs.md5, hs.os_hash_value, hs.size
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from types import TracebackType

from glimpse.core.errors import InvalidInput, PayloadTooLarge
from glimpse.core.hashing import DEFAULT_ALGORITHM, new_hash
from glimpse.stores._sink import ThreadSink

COALESCE_BYTES = 1 << 20
# Blocks are shared by both queues, so at most about QUEUE_DEPTH blocks are held: with
# 1 MiB blocks (up to the server's receive buffer for big chunks) a few MiB per upload.
QUEUE_DEPTH = 8

Observer = Callable[[bytes], object]
Writer = Callable[[bytes], object]


class HashingStream:
    """Wraps an async byte stream; iterate it once, then read ``size``, ``md5`` and
    ``os_hash_value`` (computed with ``algorithm``, a name ``hashlib`` knows).

    Raises :class:`PayloadTooLarge` as soon as more than ``max_size`` bytes arrived and
    :class:`InvalidInput` when ``expected_size`` is given and the final count differs
    (after the last chunk was yielded, so a consuming store still aborts its write).
    Errors of the source propagate unchanged. The worker threads always stop: when the
    iteration ends in any way, or on :meth:`aclose` / leaving ``async with`` when a
    consumer stopped early.
    """

    def __init__(
        self,
        source: AsyncIterable[bytes],
        *,
        max_size: int | None = None,
        expected_size: int | None = None,
        observers: Sequence[Observer] = (),
        coalesce_bytes: int = COALESCE_BYTES,
        algorithm: str = DEFAULT_ALGORITHM,
    ) -> None:
        self._source = source
        self._max_size = max_size
        self._expected_size = expected_size
        self._observers = tuple(observers)
        self._coalesce_bytes = coalesce_bytes
        self.algorithm = algorithm
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._multihash = new_hash(algorithm)
        self._writers: list[Writer] = []
        self._sinks: tuple[ThreadSink, ...] = ()
        self._size = 0
        self._done = False
        self._started = False

    async def __aenter__(self) -> HashingStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the hashing threads if the stream was not consumed to the end."""
        self._stop_sinks()

    def attach_writer(self, write: Writer) -> bool:
        """Have ``write(block)`` called for every block, in order, in the multihash thread.

        For stores that write blocks with a blocking call (a file). Call it before the
        iteration starts; it returns False afterwards, and the caller then writes the
        blocks it iterates itself. Once attached, every block has been passed to ``write``
        when the iteration ends normally. An exception raised by ``write`` stops the
        writing and is raised, unchanged, out of the iteration (at the latest at its end).
        """
        if self._started:
            return False
        self._writers.append(write)
        return True

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started:
            raise RuntimeError("a HashingStream can be iterated only once")
        self._started = True
        return self._run()

    def _digest_and_write(self, block: bytes) -> None:
        self._multihash.update(block)
        for write in self._writers:
            write(block)

    async def _run(self) -> AsyncIterator[bytes]:
        multihash = self._digest_and_write if self._writers else self._multihash.update
        self._sinks = (
            ThreadSink(self._md5.update, name="hash-md5", depth=QUEUE_DEPTH),
            ThreadSink(multihash, name=f"hash-{self.algorithm}", depth=QUEUE_DEPTH),
        )
        try:
            async with aclosing(_coalesce(self._source, self._coalesce_bytes)) as blocks:
                async for block in blocks:
                    await self._take(block)
                    yield block
            self._check_expected_size()
            for sink in self._sinks:
                await sink.close()
            self._done = True
        finally:
            self._stop_sinks()

    async def _take(self, block: bytes) -> None:
        self._size += len(block)
        if self._max_size is not None and self._size > self._max_size:
            raise PayloadTooLarge(
                f"image data exceeds the limit of {self._max_size} bytes", limit=self._max_size
            )
        for observer in self._observers:
            observer(block)
        for sink in self._sinks:
            await sink.send(block)

    def _check_expected_size(self) -> None:
        if self._expected_size is not None and self._size != self._expected_size:
            raise InvalidInput(
                f"received {self._size} bytes but the declared size is {self._expected_size}",
                size=self._size,
                expected_size=self._expected_size,
            )

    def _stop_sinks(self) -> None:
        for sink in self._sinks:
            sink.abort()

    @property
    def threads_alive(self) -> bool:
        """Whether a hashing thread still runs (for tests and leak checks)."""
        return any(sink.alive for sink in self._sinks)

    @property
    def size(self) -> int:
        """Bytes seen so far (final once the iteration completed)."""
        return self._size

    @property
    def md5(self) -> str:
        """Hex md5 of the whole stream; only after a complete iteration."""
        self._require_done()
        return self._md5.hexdigest()

    @property
    def os_hash_value(self) -> str:
        """Hex digest (``algorithm``) of the whole stream; only after a complete iteration."""
        self._require_done()
        return self._multihash.hexdigest()

    def _require_done(self) -> None:
        if not self._done:
            raise RuntimeError("digests are known only after the stream was fully consumed")


async def _coalesce(source: AsyncIterable[bytes], target: int) -> AsyncGenerator[bytes, None]:
    """Merge small chunks into blocks of at least ``target`` bytes; big ones pass as is.

    Costs one copy of small chunks (``b"".join``), which is far cheaper than paying the
    per-chunk overhead downstream. Chunks of at least ``target / 4`` are big enough to
    amortise that overhead: they are never copied (what was pending goes first, as its
    own block), so the usual HTTP receive buffers of a few hundred KiB cost no copy.
    """
    big = max(1, target // 4)
    pending: list[bytes] = []
    pending_size = 0
    async for chunk in source:
        if not chunk:
            continue
        if len(chunk) >= big:
            if pending:
                yield b"".join(pending)
                pending, pending_size = [], 0
            yield bytes(chunk)
            continue
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= target:
            yield b"".join(pending)
            pending, pending_size = [], 0
    if pending:
        yield b"".join(pending)
