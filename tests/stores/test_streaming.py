"""HashingStream: digests, size limits, error propagation, and that its threads stop."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import AsyncIterator

import pytest

from glimpse.core.errors import InvalidInput, PayloadTooLarge
from glimpse.stores.streaming import HashingStream
from tests.stores.drivers import MiB, chunks_of


class Boom(Exception):
    pass


def hash_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("hash-")]


async def drain(stream: HashingStream) -> list[bytes]:
    return [chunk async for chunk in stream]


@pytest.mark.parametrize(
    ("size", "chunk"), [(0, 1), (1, 1), (5 * MiB + 7, 100_003), (3 * MiB, MiB)]
)
async def test_digests_and_size_match_hashlib(size: int, chunk: int) -> None:
    data = os.urandom(size)
    hs = HashingStream(chunks_of(data, chunk))
    blocks = await drain(hs)
    assert b"".join(blocks) == data
    assert hs.size == size
    assert hs.md5 == hashlib.md5(data).hexdigest()
    assert hs.os_hash_value == hashlib.sha512(data).hexdigest()
    assert hs.algorithm == "sha512"
    assert not hs.threads_alive


async def test_small_chunks_are_coalesced_big_ones_pass_through() -> None:
    data = os.urandom(3 * MiB)
    blocks = await drain(HashingStream(chunks_of(data, 64 * 1024)))
    assert [len(b) for b in blocks] == [MiB, MiB, MiB]
    big = [os.urandom(2 * MiB)]

    async def source() -> AsyncIterator[bytes]:
        for b in big:
            yield b

    (only,) = await drain(HashingStream(source()))
    assert only is big[0]


async def test_observers_see_every_byte() -> None:
    data = os.urandom(2 * MiB + 5)
    seen = bytearray()
    await drain(HashingStream(chunks_of(data), observers=[seen.extend]))
    assert bytes(seen) == data


async def test_cap_exceeded_raises_early_and_threads_stop() -> None:
    produced = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal produced
        while True:
            produced += 256 * 1024
            yield b"\0" * (256 * 1024)

    hs = HashingStream(endless(), max_size=4 * MiB)
    with pytest.raises(PayloadTooLarge):
        await drain(hs)
    assert produced <= 6 * MiB
    assert not hs.threads_alive
    assert hash_threads() == []


async def test_cap_equal_to_size_is_fine() -> None:
    hs = HashingStream(chunks_of(b"x" * 1000), max_size=1000)
    await drain(hs)
    assert hs.size == 1000


@pytest.mark.parametrize("expected", [999, 1001])
async def test_expected_size_mismatch(expected: int) -> None:
    hs = HashingStream(chunks_of(b"x" * 1000), expected_size=expected)
    with pytest.raises(InvalidInput, match="declared size"):
        await drain(hs)
    assert not hs.threads_alive
    with pytest.raises(RuntimeError):
        _ = hs.md5


async def test_source_error_propagates_unchanged() -> None:
    error = Boom("disconnect")

    async def failing() -> AsyncIterator[bytes]:
        yield os.urandom(3 * MiB)
        raise error

    hs = HashingStream(failing())
    with pytest.raises(Boom) as caught:
        await drain(hs)
    assert caught.value is error
    assert not hs.threads_alive


async def test_consumer_stopping_early_stops_threads() -> None:
    async with HashingStream(chunks_of(os.urandom(8 * MiB))) as hs:
        async for _ in hs:
            break
    assert not hs.threads_alive


async def test_cancellation_stops_threads() -> None:
    started = asyncio.Event()

    async def stalling() -> AsyncIterator[bytes]:
        yield os.urandom(2 * MiB)
        started.set()
        await asyncio.Event().wait()
        yield b""

    hs = HashingStream(stalling())
    task = asyncio.create_task(drain(hs))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not hs.threads_alive


async def test_iterates_only_once() -> None:
    hs = HashingStream(chunks_of(b"abc"))
    await drain(hs)
    with pytest.raises(RuntimeError):
        aiter(hs)


# -- the multihash algorithm ---------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha3_256", "blake2b"])
async def test_multihash_uses_the_given_algorithm(algorithm: str) -> None:
    data = os.urandom(2 * MiB + 3)
    hs = HashingStream(chunks_of(data), algorithm=algorithm)
    await drain(hs)
    assert hs.algorithm == algorithm
    assert hs.os_hash_value == hashlib.new(algorithm, data).hexdigest()
    assert hs.md5 == hashlib.md5(data).hexdigest()


@pytest.mark.parametrize("algorithm", ["nope", "shake_128"])
def test_unknown_or_variable_length_algorithms_are_refused(algorithm: str) -> None:
    with pytest.raises(InvalidInput):
        HashingStream(chunks_of(b"x"), algorithm=algorithm)


# -- writers run in the multihash thread ---------------------------------------------------


async def test_attached_writer_gets_every_block_in_order_before_the_end() -> None:
    data = os.urandom(5 * MiB + 11)
    written = bytearray()
    threads: set[str] = set()

    def write(block: bytes) -> None:
        threads.add(threading.current_thread().name)
        written.extend(block)

    hs = HashingStream(chunks_of(data, 100_003), algorithm="sha256")
    assert hs.attach_writer(write)
    blocks = await drain(hs)
    assert bytes(written) == b"".join(blocks) == data  # complete once iteration ended
    assert threads == {"hash-sha256"}
    assert hs.os_hash_value == hashlib.sha256(data).hexdigest()
    assert not hs.threads_alive


async def test_writer_cannot_be_attached_once_iteration_started() -> None:
    hs = HashingStream(chunks_of(os.urandom(3 * MiB)))
    stream = aiter(hs)
    await anext(stream)
    assert not hs.attach_writer(lambda block: None)
    await stream.aclose()  # type: ignore[attr-defined]
    assert not hs.threads_alive


async def test_writer_error_comes_out_of_the_iteration_unchanged() -> None:
    error = Boom("disk gone")
    calls = 0

    def write(block: bytes) -> None:
        nonlocal calls
        calls += 1
        raise error

    hs = HashingStream(chunks_of(os.urandom(6 * MiB), 64 * 1024))
    hs.attach_writer(write)
    with pytest.raises(Boom) as caught:
        await drain(hs)
    assert caught.value is error
    assert calls == 1  # the thread stops writing after the first failure
    assert not hs.threads_alive


async def test_writer_error_on_the_last_block_still_fails_the_stream() -> None:
    def write(block: bytes) -> None:
        raise Boom("late")

    hs = HashingStream(chunks_of(b"tiny"))
    hs.attach_writer(write)
    with pytest.raises(Boom):
        await drain(hs)
    with pytest.raises(RuntimeError):
        _ = hs.os_hash_value


async def test_chunks_of_a_quarter_block_pass_uncopied_after_pending_ones() -> None:
    small, big = os.urandom(1000), os.urandom(300 * 1024)

    async def source() -> AsyncIterator[bytes]:
        yield small
        yield big
        yield small

    blocks = await drain(HashingStream(source()))
    assert blocks[0] == small
    assert blocks[1] is big
    assert blocks[2] == small
