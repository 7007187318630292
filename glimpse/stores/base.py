"""The blob store contract every driver fulfils.

Stores know keys, bytes and URIs, never tables. They translate their own failures
(OSError, botocore errors) into :class:`glimpse.core.errors.StoreUnavailable` (or
:class:`PayloadTooLarge` when the medium is full), so callers never see driver exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class StoredBlob:
    """What a completed ``put`` produced."""

    uri: str
    size: int


@dataclass(frozen=True)
class BlobInfo:
    """A complete blob found by listing a store (for the orphan sweep)."""

    uri: str
    size: int
    modified: float  # epoch seconds of its last change


@runtime_checkable
class BlobStore(Protocol):
    """A named place to keep image data.

    Contract (checked by tests/stores/test_contract.py for every driver):
      * ``put`` consumes ``chunks`` to the end and makes the blob visible atomically. If the
        iterator or the medium raises, nothing remains under ``key`` (no temp file, no
        multipart upload) and the exception propagates unchanged.
      * ``open(uri, start, end)`` yields bytes ``[start, end)`` (``end=None``: to the end;
        ``end`` is clamped to the size). A negative ``start`` means the last ``-start`` bytes
        (HTTP ``bytes=-N``; ``end`` must then be ``None``). A range starting at or past the
        end is empty. Raises :class:`NotFound` for a missing blob (see ``keys.ByteRange``).
      * ``stat`` returns the size, or ``None`` when absent. ``delete`` is idempotent.
      * ``local_path`` returns a file path when the blob is a plain local file (fast path for
        downloads), else ``None``. ``presign`` returns a short-lived URL or ``None``.
      * ``blobs`` lists every complete blob; ``discard_partial(before)`` removes what writers
        that died left behind (temp files, unfinished multipart uploads) started before
        ``before`` (epoch seconds) and returns how many. Both serve the orphan sweep.
    """

    name: str
    read_only: bool

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredBlob: ...

    def open(self, uri: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...

    async def stat(self, uri: str) -> int | None: ...

    async def delete(self, uri: str) -> None: ...

    def local_path(self, uri: str) -> Path | None: ...

    async def presign(self, uri: str, expires_seconds: int = 300) -> str | None: ...

    def blobs(self) -> AsyncIterator[BlobInfo]: ...

    async def discard_partial(self, before: float) -> int: ...

    async def close(self) -> None: ...
