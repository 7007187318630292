"""Throughput of HashingStream against plain hashlib, on 1 GiB of in-memory chunks.

Baselines, in the same run (numbers are noisy on shared 2-core machines):
  * two-thread: md5 and sha512 each in a thread over the same chunks, no event loop;
    the ceiling HashingStream aims for.
  * sequential: md5 then sha512 of each chunk in one thread (the naive upload loop).

Usage: python bench/bench_hashing.py [total_MiB] [chunk_KiB ...]
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable

from glimpse.stores.inspect import FormatInspection
from glimpse.stores.streaming import HashingStream

MiB = 1 << 20


def make_chunks(total: int, chunk: int) -> list[bytes]:
    """``total`` bytes as chunks, drawn from 16 distinct random buffers (no big allocation)."""
    pool = [os.urandom(chunk) for _ in range(16)]
    return [pool[i % 16] for i in range(total // chunk)]


def two_threads(chunks: list[bytes]) -> None:
    def run(new: Callable[[], hashlib._Hash]) -> None:
        h = new()
        for c in chunks:
            h.update(c)
        h.hexdigest()

    threads = [
        threading.Thread(target=run, args=(hashlib.md5,)),
        threading.Thread(target=run, args=(hashlib.sha512,)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def sequential(chunks: list[bytes]) -> None:
    md5, sha = hashlib.md5(), hashlib.sha512()
    for c in chunks:
        md5.update(c)
        sha.update(c)


async def source(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for c in chunks:
        yield c


async def hashing_stream(chunks: list[bytes], inspect: bool) -> None:
    observers = [FormatInspection()] if inspect else []
    async with HashingStream(source(chunks), observers=observers) as hs:
        async for _ in hs:
            pass
    hs.sha512  # noqa: B018 - proves the digests are final


def timed(label: str, total: int, fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    print(f"  {label:<34} {elapsed:6.2f} s  {total / elapsed / 1e6:7.0f} MB/s")
    return elapsed


def main() -> None:
    total = int(sys.argv[1]) * MiB if len(sys.argv) > 1 else 1024 * MiB
    chunk_sizes = [int(a) * 1024 for a in sys.argv[2:]] or [MiB, 256 * 1024]
    for chunk in chunk_sizes:
        run_one(total, chunk)


def run_one(total: int, chunk: int) -> None:
    """One chunk size: baselines first, then HashingStream, then the ratio."""
    chunks = make_chunks(total, chunk)
    print(f"{total // MiB} MiB in {chunk // 1024} KiB chunks")
    base = timed("hashlib md5 || sha512 (2 threads)", total, lambda: two_threads(chunks))
    timed("hashlib md5 + sha512 (sequential)", total, lambda: sequential(chunks))
    ours = timed("HashingStream", total, lambda: asyncio.run(hashing_stream(chunks, False)))
    timed(
        "HashingStream + FormatInspection",
        total,
        lambda: asyncio.run(hashing_stream(chunks, True)),
    )
    print(f"  HashingStream / two-thread baseline throughput ratio: {base / ours:.2f}")


if __name__ == "__main__":
    main()
