"""The data steps of a resize: a verified local scratch copy, and storing the result.

qemu-img only ever sees data that passed format inspection here (the rules of every write,
glimpse.stores.inspect: the detected format must be what the image declares and its safety
checks must pass, so no backing or data files), and whose md5 matches the image's checksum.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from glimpse.core.errors import Conflict, UnsupportedMediaType
from glimpse.models.tables import Image, ImageLocation, Task
from glimpse.resolvers import quotas, storage, transfer
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.task_queue import Progress
from glimpse.stores.inspect import FormatInspection
from glimpse.stores.streaming import HashingStream

CHUNK = 1 << 20


async def fetch_scratch(
    deps: Deps, task: Task, image: Image, work: Path, progress: Progress
) -> tuple[ImageLocation, Path]:
    """Download the current data into ``work/disk``, inspecting and hashing it."""
    loc = await transfer.active_location(deps, image.id)
    if loc is None:
        raise Conflict(f"Image {image.id} has no data")
    await anyio.to_thread.run_sync(lambda: shutil.rmtree(work, ignore_errors=True))
    await anyio.Path(work).mkdir(parents=True, exist_ok=True)
    path = work / "disk"
    inspection = FormatInspection()
    source = transfer.paced(
        deps, transfer.read(deps, loc.url), progress, image.size, "fetching", (0, 40)
    )
    algorithm = storage.hash_algo_for(deps, image)
    stream = HashingStream(source, observers=[inspection], algorithm=algorithm)
    async with stream, await anyio.open_file(path, "wb") as fh:
        async for chunk in stream:
            await fh.write(chunk)
    if stream.md5 != image.checksum:
        raise Conflict(f"Stored data of image {image.id} does not match its checksum")
    try:
        inspection.verdict(image.disk_format or "raw", "bare")
    except UnsupportedMediaType as exc:
        raise UnsupportedMediaType(f"{exc.message}: refusing to resize", **exc.details) from None
    return loc, path


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as fh:
        while chunk := await fh.read(CHUNK):
            yield chunk


async def upload_resized(
    deps: Deps, task: Task, image: Image, loc: ImageLocation, path: Path, progress: Progress
) -> transfer.Transferred:
    """Store the resized file next to the original (same store, a new key)."""
    store = deps.stores.for_uri(loc.url) or deps.stores.default
    size = (await anyio.Path(path).stat()).st_size
    chunks = transfer.paced(deps, _file_chunks(path), progress, size, "storing", (50, 95))
    cap = await quotas.cap_now(deps, image.owner, replacing=image.id)
    key = f"{image.id}-r{task.id[:8]}"
    return await transfer.write(deps, image, store, key, chunks, cap=cap)
