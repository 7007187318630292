"""Low-level file writing for the stores: complete writes, early write-back.

``write_all`` loops until every byte is written: an unbuffered file's ``write`` may write
less than asked (a full disk fills up mid-block) and report it only in its return value.

``start_writeback`` starts the write-back of a file range without waiting for it (Linux
``sync_file_range``, which Python's ``os`` module lacks: it is looked up in the C library
once). Where it is missing (another OS, another libc) starting write-back is skipped: it
only moves work earlier, the final fsync still makes the data durable.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import BinaryIO, Final

_SYNC_FILE_RANGE_WRITE: Final = 2

_Fn = Callable[[int, int, int, int], int]


def _load() -> _Fn | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    loaded: _Fn = fn
    return loaded


_sync_file_range = _load()


def start_writeback(fd: int, offset: int, length: int) -> bool:
    """Ask the kernel to begin writing ``[offset, offset + length)`` of ``fd`` to disk.

    Returns whether the request was made. Never raises and never waits for the disk
    (ctypes releases the GIL for the call); failures are ignored because the caller
    fsyncs before it relies on the data.
    """
    if _sync_file_range is None:
        return False
    return _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE) == 0


def write_all(fh: BinaryIO, data: bytes) -> None:
    """Write every byte of ``data`` to an unbuffered file (errors propagate)."""
    view = memoryview(data)
    while view:
        written = fh.write(view)
        if not written:  # None (non-blocking) or 0: the medium takes nothing more
            raise OSError(28, "no space left on device")
        view = view[written:]
