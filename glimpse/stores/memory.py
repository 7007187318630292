"""An in-memory blob store: a real driver (not a mock) for resolver tests and demos.

It honours the same contract as the other drivers (tests/stores/test_contract.py), so a
test that passes with it exercises the same behaviour as production. It holds whole
blobs in memory by definition: never use it for real images.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from glimpse.core.errors import NotFound, StoreUnavailable
from glimpse.stores.base import BlobInfo, StoredBlob
from glimpse.stores.keys import ByteRange, check_key, check_range

CHUNK = 1 << 20


class MemoryStore:
    """Blobs in a dict; URIs look like ``memory://<store name>/<key>``."""

    def __init__(self, name: str, *, read_only: bool = False) -> None:
        self.name = name
        self.read_only = read_only
        self._prefix = f"memory://{name}/"
        self._blobs: dict[str, bytes] = {}
        self._modified: dict[str, float] = {}

    def owns(self, uri: str) -> bool:
        """Whether ``uri`` names a blob of this store."""
        return uri.startswith(self._prefix)

    def key_of(self, uri: str) -> str | None:
        """The key ``uri`` names in this store, or None when it is not ours."""
        return uri[len(self._prefix) :] if self.owns(uri) else None

    def keys(self) -> list[str]:
        """Stored keys, for tests that check nothing was left behind."""
        return sorted(self._blobs)

    def _key(self, uri: str) -> str:
        if not self.owns(uri):
            raise NotFound(f"{uri} does not belong to store {self.name!r}")
        return uri[len(self._prefix) :]

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredBlob:
        """Collect all chunks, then publish; an iterator error stores nothing."""
        check_key(key)
        if self.read_only:
            raise StoreUnavailable(f"store {self.name!r} is read-only")
        buffer = bytearray()
        async for chunk in chunks:
            buffer += chunk
        self._blobs[key] = bytes(buffer)
        self._modified[key] = time.time()
        return StoredBlob(uri=self._prefix + key, size=len(buffer))

    async def blobs(self) -> AsyncIterator[BlobInfo]:
        """Every stored blob (a snapshot: deleting while iterating is safe)."""
        for key, data in list(self._blobs.items()):
            yield BlobInfo(self._prefix + key, len(data), self._modified.get(key, 0.0))

    async def discard_partial(self, before: float) -> int:
        """Nothing to do: a memory write is never left half done."""
        return 0

    def open(self, uri: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Yield ``[start, end)`` in 1 MiB slices (see :class:`ByteRange`)."""
        check_range(start, end)
        return self._read(uri, start, end)

    async def _read(self, uri: str, start: int, end: int | None) -> AsyncIterator[bytes]:
        data = self._blobs.get(self._key(uri))
        if data is None:
            raise NotFound(f"blob not found in store {self.name!r}", internal=uri)
        span = ByteRange.resolve(len(data), start, end)
        view = memoryview(data)
        for offset in range(span.start, span.stop, CHUNK):
            yield bytes(view[offset : min(offset + CHUNK, span.stop)])

    async def stat(self, uri: str) -> int | None:
        """Size of the blob, ``None`` when absent."""
        data = self._blobs.get(self._key(uri))
        return None if data is None else len(data)

    async def delete(self, uri: str) -> None:
        """Remove the blob; absent is fine."""
        key = self._key(uri)
        self._blobs.pop(key, None)
        self._modified.pop(key, None)

    def local_path(self, uri: str) -> Path | None:
        """Never a file."""
        return None

    async def presign(self, uri: str, expires_seconds: int = 300) -> str | None:
        """No URL can reach process memory."""
        return None

    async def close(self) -> None:
        """Nothing to release; blobs stay for the lifetime of the object."""
