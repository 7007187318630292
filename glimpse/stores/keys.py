"""Blob keys and byte ranges, shared by every driver so they all agree on both.

Keys become file paths and object names, so they are restricted to ``/``-separated
segments of ``[A-Za-z0-9._-]`` (never ``.`` or ``..``): no traversal, no surprises with
URL encoding, the same key is valid in every driver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from glimpse.core.errors import InvalidInput

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
MAX_KEY_LENGTH = 512


def check_key(key: str) -> str:
    """Return ``key`` unchanged when it is safe, else raise :class:`InvalidInput`."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"invalid blob key {key[:40]!r}: empty or too long")
    for segment in key.split("/"):
        if segment in {"", ".", ".."} or not _SEGMENT.fullmatch(segment):
            raise InvalidInput(f"invalid blob key {key!r}: bad segment {segment!r}")
    return key


@dataclass(frozen=True)
class ByteRange:
    """``open(uri, start, end)`` arguments resolved against a blob of known ``size``.

    Semantics shared by all drivers: ``start >= 0`` with ``end`` exclusive and clamped to
    the size (``None``: to the end); a negative ``start`` is a suffix, the last ``-start``
    bytes (HTTP ``bytes=-N``), and then ``end`` must be ``None``. A range that starts at
    or past the end is empty rather than an error: callers validate ranges against the
    image size before a response starts.
    """

    start: int
    stop: int

    @property
    def length(self) -> int:
        return max(0, self.stop - self.start)

    @classmethod
    def resolve(cls, size: int, start: int, end: int | None) -> ByteRange:
        check_range(start, end)
        if start < 0:
            return cls(max(0, size + start), size)
        stop = size if end is None else min(end, size)
        return cls(min(start, size), max(min(start, size), stop))


def check_range(start: int, end: int | None) -> None:
    """Reject argument combinations that have no meaning (see :class:`ByteRange`)."""
    if end is not None and (end < 0 or start < 0):
        raise InvalidInput("a range end needs a non-negative start and end")
