"""A blob store on a local (or mounted) directory.

Writes go to a hidden temp file in the target directory, are fsynced and renamed into
place, so a blob is either complete or absent, even across a crash. All blocking I/O runs
off the event loop: uploads are written by the hashing stream's thread when the chunks
come from one (``HashingStream.attach_writer``), else by one writer thread fed through a
bounded queue (cheaper than ``to_thread`` per chunk on the hot path); reads and metadata
calls use ``to_thread``.

While a file is written, the kernel is asked every few MiB to start writing the new pages
back (``sync_file_range``), so the final fsync waits for the last few MiB instead of the
whole image (about 0.5 s per GiB here), and dirty pages never pile up.
"""

from __future__ import annotations

import asyncio
import errno
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from glimpse.core.errors import InvalidInput, NotFound, PayloadTooLarge, StoreUnavailable
from glimpse.stores._fileio import start_writeback, write_all
from glimpse.stores._sink import ThreadSink
from glimpse.stores.base import BlobInfo, StoredBlob
from glimpse.stores.keys import ByteRange, check_key, check_range

READ_CHUNK = 1 << 20
WRITEBACK_BYTES = 16 << 20
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


@contextmanager
def translate_os_errors(store: str) -> Iterator[None]:
    """Turn OSError into the neutral store errors (full medium -> PayloadTooLarge)."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL_ERRNOS:
            raise PayloadTooLarge("store full", store=store) from exc
        raise StoreUnavailable(
            f"store {store!r} failed: {exc.strerror or type(exc).__name__}", internal=str(exc)
        ) from exc


def _write_chunk(fh: BinaryIO, chunk: bytes) -> None:
    """Write a whole chunk; a module function so tests can simulate a full disk."""
    write_all(fh, chunk)


class _TempFile:
    """The temp file of one upload: created, written by a sink, then published or dropped."""

    def __init__(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        self.path = Path(name)
        self.target = target
        self.fh: BinaryIO = os.fdopen(fd, "wb", buffering=0)
        self._written = 0
        self._flushed = 0  # bytes whose write-back was started

    def write(self, chunk: bytes) -> None:
        _write_chunk(self.fh, chunk)
        self._written += len(chunk)
        if self._written - self._flushed >= WRITEBACK_BYTES:
            start_writeback(self.fh.fileno(), self._flushed, self._written - self._flushed)
            self._flushed = self._written

    def publish(self) -> int:
        """fsync data, rename into place, fsync the directory so the rename is durable."""
        os.fsync(self.fh.fileno())
        size = os.fstat(self.fh.fileno()).st_size
        self.fh.close()
        os.replace(self.path, self.target)
        dir_fd = os.open(self.target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return size

    def discard(self) -> None:
        """Best effort; runs in ``finally`` so it must not raise."""
        with suppress(OSError):
            self.fh.close()
        self.path.unlink(missing_ok=True)


class FilesystemStore:
    """Blobs as files under ``path``; URIs look like ``file:///abs/path/key``."""

    def __init__(self, name: str, path: str | Path, *, read_only: bool = False) -> None:
        self.name = name
        self.read_only = read_only
        self.root = Path(path).resolve()
        self._uri_prefix = self.root.as_uri().rstrip("/") + "/"

    def owns(self, uri: str) -> bool:
        """Whether ``uri`` names a file below this store's root."""
        return self._path_or_none(uri) is not None

    def key_of(self, uri: str) -> str | None:
        """The key ``uri`` names in this store, or None when it is not ours."""
        path = self._path_or_none(uri)
        return None if path is None else path.relative_to(self.root).as_posix()

    def _uri(self, key: str) -> str:
        return (self.root / key).as_uri()

    def _path_or_none(self, uri: str) -> Path | None:
        parsed = urlparse(uri)
        if parsed.scheme != "file" or parsed.netloc not in {"", "localhost"}:
            return None
        path = Path(unquote(parsed.path))
        try:
            key = path.relative_to(self.root).as_posix()
            check_key(key)
        except (ValueError, InvalidInput):  # a foreign or hostile path
            return None
        return path

    def _path(self, uri: str) -> Path:
        path = self._path_or_none(uri)
        if path is None:
            raise NotFound(f"{uri} does not belong to store {self.name!r}")
        return path

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredBlob:
        """Stream ``chunks`` into a temp file, then publish it.

        The file is written by the thread of a hashing stream that offers it (see
        ``HashingStream.attach_writer``), else by a writer thread of its own.
        """
        check_key(key)
        if self.read_only:
            raise StoreUnavailable(f"store {self.name!r} is read-only")
        with translate_os_errors(self.name):
            temp = await asyncio.to_thread(_TempFile, self.root / key)
        sink: ThreadSink | None = None
        published = False
        try:
            attach = getattr(chunks, "attach_writer", None)
            if attach is not None and attach(self._writer(temp)):
                async for _ in chunks:  # written by the stream's own thread
                    pass
            else:
                sink = ThreadSink(temp.write, name=f"fs-write-{self.name}")
                await self._feed(sink, chunks)
            with translate_os_errors(self.name):
                size = await asyncio.to_thread(temp.publish)
            published = True
        finally:
            if not published:
                if sink is not None:
                    sink.abort()
                temp.discard()
        return StoredBlob(uri=self._uri(key), size=size)

    def _writer(self, temp: _TempFile) -> Callable[[bytes], None]:
        """``temp.write`` raising store errors, for a thread that is not ours: its errors
        come out of the chunk iterator, where an OSError would look like the source's."""

        def write(block: bytes) -> None:
            with translate_os_errors(self.name):
                temp.write(block)

        return write

    async def _feed(self, sink: ThreadSink, chunks: AsyncIterable[bytes]) -> None:
        """Hand every chunk to the writer thread, then wait until it wrote them all."""
        async for chunk in chunks:
            with translate_os_errors(self.name):
                await sink.send(chunk)
        with translate_os_errors(self.name):
            await sink.close()

    def open(self, uri: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Yield ``[start, end)`` in 1 MiB chunks read in a thread (see :class:`ByteRange`)."""
        check_range(start, end)
        return self._read(self._path(uri), start, end)

    async def _read(self, path: Path, start: int, end: int | None) -> AsyncIterator[bytes]:
        try:
            fh = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise NotFound(f"blob not found in store {self.name!r}", internal=str(path)) from None
        except OSError as exc:
            with translate_os_errors(self.name):
                raise exc
        try:
            with translate_os_errors(self.name):
                span = ByteRange.resolve(os.fstat(fh.fileno()).st_size, start, end)
            remaining = span.length
            if remaining:
                await asyncio.to_thread(fh.seek, span.start)
            while remaining > 0:
                with translate_os_errors(self.name):
                    chunk = await asyncio.to_thread(fh.read, min(READ_CHUNK, remaining))
                if not chunk:  # truncated underneath us
                    raise StoreUnavailable(
                        f"a blob of store {self.name!r} shrank while reading", internal=str(path)
                    )
                remaining -= len(chunk)
                yield chunk
        finally:
            fh.close()

    async def stat(self, uri: str) -> int | None:
        """Size of the file, ``None`` when absent."""
        path = self._path(uri)
        try:
            return (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            with translate_os_errors(self.name):
                raise exc

    async def delete(self, uri: str) -> None:
        """Unlink the file; absent is fine."""
        path = self._path(uri)
        with translate_os_errors(self.name):
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def blobs(self) -> AsyncIterator[BlobInfo]:
        """Every published file below the root (temp files of running writes excluded)."""
        found = await asyncio.to_thread(self._scan, partial=False)
        for path, size, mtime in found:
            yield BlobInfo(path.as_uri(), size, mtime)

    async def discard_partial(self, before: float) -> int:
        """Remove temp files of writers that died (untouched since ``before``): a live
        upload writes its temp file continuously, so its mtime stays recent."""
        stale = [
            p for p, _, mtime in await asyncio.to_thread(self._scan, partial=True) if mtime < before
        ]
        for path in stale:
            with suppress(FileNotFoundError), translate_os_errors(self.name):
                await asyncio.to_thread(path.unlink)
        return len(stale)

    def _scan(self, *, partial: bool) -> list[tuple[Path, int, float]]:
        """Files below the root: temp files (``.name.XXXX.tmp``) or published blobs."""
        out: list[tuple[Path, int, float]] = []
        if not self.root.is_dir():
            return out
        for path in self.root.rglob("*"):
            is_temp = path.name.startswith(".") and path.name.endswith(".tmp")
            if is_temp != partial or (path.name.startswith(".") and not is_temp):
                continue
            try:
                st = path.stat()
            except FileNotFoundError:  # removed while we looked
                continue
            if path.is_file():
                out.append((path, st.st_size, st.st_mtime))
        return out

    def local_path(self, uri: str) -> Path | None:
        """The file itself (no I/O: existence is checked when it is opened)."""
        return self._path_or_none(uri)

    async def presign(self, uri: str, expires_seconds: int = 300) -> str | None:
        """Files have no shareable URL."""
        return None

    async def close(self) -> None:
        """No open resources between calls."""
