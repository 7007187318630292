"""The decompression import plugin: gzip and zip sources become the image they contain.

Like Glance's ``image_decompression`` plugin, it recognises the archive by its first bytes
(not by a declared format) and leaves images whose ``container_format`` is ``compressed``
alone. Decompression is bounded while it runs, never after:

* the output may not exceed ``limit`` bytes (the image size cap, or what the quota leaves);
* past ``floor`` bytes of output, the output may not be more than ``max_ratio`` times the
  input consumed so far - a decompression bomb is refused at the first block that crosses
  the line, having produced at most ``max_ratio`` times its own size;
* each step inflates at most ``CHUNK`` bytes, so memory stays small whatever the input.

gzip streams (multi-member files too). A zip archive is spooled to a temporary file (its
directory is at the end) and must hold exactly one file, which is then streamed out under
the same bounds. Anything else passes through unchanged.
"""

from __future__ import annotations

import contextlib
import tempfile
import zipfile
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, BinaryIO, Final

import anyio

from glimpse.core.errors import InvalidInput, PayloadTooLarge

CHUNK: Final = 1024 * 1024
GZIP_MAGIC: Final = b"\x1f\x8b"
ZIP_MAGIC: Final = b"PK\x03\x04"


@dataclass(frozen=True)
class Bounds:
    """How far decompression may go (see the module docstring)."""

    limit: int
    max_ratio: int = 100
    floor: int = 16 * 1024 * 1024


class _Meter:
    """Counts input and output and refuses as soon as a bound is crossed."""

    def __init__(self, bounds: Bounds) -> None:
        self.bounds, self.consumed, self.produced = bounds, 0, 0

    def take(self, n_in: int, n_out: int) -> None:
        self.consumed += n_in
        self.produced += n_out
        b = self.bounds
        if self.produced > b.limit:
            raise PayloadTooLarge(f"The decompressed image is larger than {b.limit} bytes")
        if self.produced > b.floor and self.produced > b.max_ratio * max(self.consumed, 1):
            raise InvalidInput(
                f"Refused a decompression bomb: more than {b.max_ratio} times its compressed size"
            )


async def decompressed(source: AsyncIterator[bytes], bounds: Bounds) -> AsyncIterator[bytes]:
    """``source`` decompressed if it is a gzip or zip archive, else unchanged."""
    head, rest = await _peek(source, len(ZIP_MAGIC))
    if head.startswith(GZIP_MAGIC):
        inner = _gunzip(_prepend(head, rest), _Meter(bounds))
    elif head.startswith(ZIP_MAGIC):
        inner = _unzip(_prepend(head, rest), _Meter(bounds))
    else:
        inner = _prepend(head, rest)
    async for block in inner:
        yield block


async def _peek(source: AsyncIterator[bytes], n: int) -> tuple[bytes, AsyncIterator[bytes]]:
    head = b""
    while len(head) < n:
        try:
            head += await anext(source)
        except StopAsyncIteration:
            break
    return head, source


async def _prepend(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for block in rest:
        yield block


async def _gunzip(source: AsyncIterator[bytes], meter: _Meter) -> AsyncIterator[bytes]:
    inflater, started = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS), False
    try:
        async for block in source:
            data = block
            while data:
                started = True
                out = inflater.decompress(data, CHUNK)
                pending = inflater.unconsumed_tail
                meter.take(len(data) - len(pending), len(out))
                if out:
                    yield out
                data = pending
                if inflater.eof:  # another gzip member may follow
                    data = inflater.unused_data + data
                    inflater, started = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS), False
    except zlib.error as exc:
        raise InvalidInput(f"The gzip data is corrupt: {exc}") from exc
    if started:  # the last member never reached its end (and its checksum)
        raise InvalidInput("The gzip data is corrupt: it ends in the middle of a member")


async def _unzip(source: AsyncIterator[bytes], meter: _Meter) -> AsyncIterator[bytes]:
    with tempfile.TemporaryFile() as spool:
        size = 0
        async for block in source:
            size += len(block)
            if size > meter.bounds.limit:
                raise PayloadTooLarge("The zip archive is larger than the image size cap")
            await anyio.to_thread.run_sync(spool.write, block)
        await anyio.to_thread.run_sync(spool.seek, 0)
        member = await anyio.to_thread.run_sync(_open_single_member, spool)
        meter.consumed = size  # the ratio is against the whole archive
        with contextlib.closing(member):
            while True:
                try:
                    out = await anyio.to_thread.run_sync(member.read, CHUNK)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise InvalidInput(f"The zip archive is corrupt: {exc}") from exc
                if not out:
                    return
                meter.take(0, len(out))
                yield out


def _open_single_member(spool: BinaryIO) -> IO[bytes]:
    try:
        archive = zipfile.ZipFile(spool)
        files = [i for i in archive.infolist() if not i.is_dir()]
        if len(files) != 1:
            raise InvalidInput(f"A zip archive must hold exactly one image, not {len(files)} files")
        if files[0].flag_bits & 0x1:
            raise InvalidInput("Encrypted zip archives are not supported")
        return archive.open(files[0])
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
        raise InvalidInput(f"The zip archive cannot be read: {exc}") from exc
