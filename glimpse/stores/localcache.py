"""The files of the local image cache: one directory per node, plain files per image.

Layout (close to Glance's image cache, so operators find their way around)::

    <root>/<image_id>.<content>             complete, verified copies
    <root>/incomplete/<image_id>.<token>    being written (a download or a prefetch)
    <root>/invalid/<image_id>               failed verification, kept for inspection

``<content>`` names the bytes, not the image (:attr:`Expected.key`: the image's
``os_hash_value``, or md5 and size for images without one): when an image's data changes
(a resize), its new checksums name a file that does not exist yet, so the old bytes can
never be served for the new version. Publishing a copy removes the image's copies of other versions.

A copy becomes visible only by an atomic rename after its checksums were verified, so a
complete file is always a correct one. This module knows paths and bytes, never tables:
the catalog of what is cached (hits, access times, LRU order) is kept by
``glimpse.resolvers.cache``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from glimpse.core.errors import IntegrityError
from glimpse.core.hashing import DEFAULT_ALGORITHM, new_hash
from glimpse.stores._fileio import write_all
from glimpse.stores._sink import ThreadSink
from glimpse.stores.filesystem import translate_os_errors
from glimpse.stores.keys import check_key

COALESCE_BYTES = 1 << 20


@dataclass(frozen=True)
class Expected:
    """What the bytes must hash to (the image's recorded checksums). ``os_hash_algo``
    names the algorithm of ``os_hash_value`` (sha512 when an old record lacks it)."""

    size: int | None
    md5: str | None
    os_hash_value: str | None
    os_hash_algo: str | None = None

    @property
    def key(self) -> str | None:
        """The content's name in the cache; ``None`` when the image has no checksum (such
        data is never cached: nothing would tell one version from the next)."""
        if self.os_hash_value:
            return self.os_hash_value[:64]
        if self.md5 and self.size is not None:
            return f"{self.md5}-{self.size}"
        return None


class LocalCache:
    """The cache directory of this node."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.incomplete = self.root / "incomplete"
        self.invalid = self.root / "invalid"

    def prepare(self) -> None:
        """Create the directories (blocking; call once at start-up or off the loop)."""
        for d in (self.root, self.incomplete, self.invalid):
            d.mkdir(parents=True, exist_ok=True)

    def path(self, image_id: str, content: str) -> Path:
        """Where the complete copy of this content of ``image_id`` lives (if it exists)."""
        return self.root / check_key(f"{image_id}.{content}")

    def cached(self, image_id: str, content: str | None) -> Path | None:
        """The complete copy of exactly this content, or ``None`` (one ``stat``)."""
        if content is None:
            return None
        path = self.path(image_id, content)
        return path if path.is_file() else None

    def copies(self, image_id: str) -> list[Path]:
        """Every complete copy of ``image_id``, whatever its version."""
        check_key(image_id)
        return [p for p in self.root.glob(f"{image_id}.*") if p.is_file()]

    async def writer(self, image_id: str, expected: Expected) -> CacheWriter:
        """A writer for a new copy; call :meth:`CacheWriter.commit` or ``discard``."""
        if expected.key is None:
            raise ValueError("data without a checksum is not cached")
        temp = self.incomplete / f"{check_key(image_id)}.{uuid.uuid4().hex[:8]}"

        def create() -> BinaryIO:
            self.prepare()
            return open(temp, "wb", buffering=0)

        with translate_os_errors("cache"):
            fh = await asyncio.to_thread(create)
        return CacheWriter(self, image_id, expected, temp, fh)

    def remove(self, image_id: str, *, keep: Path | None = None) -> int:
        """Delete the complete copies of ``image_id`` (all but ``keep``); returns the bytes
        freed (0 when there were none)."""
        freed = 0
        for path in self.copies(image_id):
            if path == keep:
                continue
            with suppress(FileNotFoundError):
                size = path.stat().st_size
                path.unlink()
                freed += size
        return freed

    def clean(self, stall_seconds: int, now: float | None = None) -> tuple[int, int]:
        """Remove invalid copies and incomplete files older than ``stall_seconds``.

        Returns (files, bytes) removed. Recent incomplete files belong to transfers still
        running and are left alone.
        """
        now = time.time() if now is None else now
        files = freed = 0
        for directory, min_age in ((self.invalid, -1.0), (self.incomplete, stall_seconds)):
            if not directory.is_dir():
                continue
            for entry in directory.iterdir():
                with suppress(FileNotFoundError):
                    st = entry.stat()
                    if now - st.st_mtime > min_age:
                        entry.unlink()
                        files, freed = files + 1, freed + st.st_size
        return files, freed

    def complete_ids(self) -> list[str]:
        """Image ids with a complete copy on disk (for reconciling with the catalog)."""
        if not self.root.is_dir():
            return []
        return list({p.name.split(".", 1)[0] for p in self.root.iterdir() if p.is_file()})


class CacheWriter:
    """Writes one copy while md5 and the multihash are computed, in two worker threads (the
    multihash thread also writes the file: one hand-off per block less, the block still
    in cache when it is written).

    ``send`` chunks in order, then ``commit`` verifies size and digests against
    :class:`Expected` and renames the file into place; a mismatch moves the file to
    ``invalid/`` and raises :class:`IntegrityError`. ``discard`` (idempotent) drops
    everything; it is the ``finally`` of every caller.
    """

    def __init__(
        self, cache: LocalCache, image_id: str, expected: Expected, temp: Path, fh: BinaryIO
    ) -> None:
        self.cache, self.image_id, self.expected = cache, image_id, expected
        self.temp, self._fh = temp, fh
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._multihash = new_hash(expected.os_hash_algo or DEFAULT_ALGORITHM)
        self._size = 0
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._sinks = (
            ThreadSink(self._md5.update, name="cache-md5"),
            ThreadSink(self._digest_and_write, name="cache-hash-write"),
        )
        self._done = False

    def _digest_and_write(self, block: bytes) -> None:
        self._multihash.update(block)
        write_all(self._fh, block)

    async def send(self, chunk: bytes) -> None:
        """Queue one chunk for writing and hashing.

        Reads arrive in pieces of whatever size the source yields (S3 bodies: up to
        256 KiB); they are gathered into ~1 MiB blocks first so each of the three threads
        gets few, large hand-offs (hashlib releases the GIL only for large buffers).
        """
        if not chunk:
            return
        self._size += len(chunk)
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= COALESCE_BYTES:
            await self._dispatch()

    async def _dispatch(self) -> None:
        if not self._pending:
            return
        block = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        for sink in self._sinks:
            with translate_os_errors("cache"):
                await sink.send(block)

    async def commit(self) -> Path:
        """Flush, verify, publish; returns the path of the complete copy."""
        await self._dispatch()
        with translate_os_errors("cache"):
            for sink in self._sinks:
                await sink.close()
            await asyncio.to_thread(self._fh.close)
        mismatch = self.mismatch()
        if mismatch:
            await asyncio.to_thread(self._quarantine)
            raise IntegrityError(
                f"cached copy of image {self.image_id} does not match its {mismatch}",
                image_id=self.image_id,
                field=mismatch,
            )
        assert self.expected.key is not None  # checked by LocalCache.writer
        target = self.cache.path(self.image_id, self.expected.key)
        with translate_os_errors("cache"):
            await asyncio.to_thread(os.replace, self.temp, target)
            await asyncio.to_thread(self.cache.remove, self.image_id, keep=target)
        self._done = True
        return target

    def mismatch(self) -> str | None:
        """The first recorded value the bytes contradict (``size``, ``checksum``,
        ``os_hash_value``), or ``None`` when all known values match."""
        exp = self.expected
        if exp.size is not None and exp.size != self._size:
            return "size"
        if exp.md5 and exp.md5 != self._md5.hexdigest():
            return "checksum"
        if exp.os_hash_value and exp.os_hash_value != self._multihash.hexdigest():
            return "os_hash_value"
        return None

    @property
    def size(self) -> int:
        return self._size

    def _quarantine(self) -> None:
        self.cache.invalid.mkdir(parents=True, exist_ok=True)
        os.replace(self.temp, self.cache.invalid / check_key(self.image_id))
        self._done = True

    def discard(self) -> None:
        """Stop the threads and remove the temp file unless it was published."""
        for sink in self._sinks:
            sink.abort()
        with suppress(OSError):
            self._fh.close()
        if not self._done:
            self.temp.unlink(missing_ok=True)
            self._done = True


__all__ = ["CacheWriter", "Expected", "LocalCache"]
