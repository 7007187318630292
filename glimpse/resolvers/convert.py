"""The conversion import plugin: imported disks end up in one target format (qemu-img).

Like Glance's ``image_conversion`` plugin (``output_format``, e.g. raw for Ceph-backed
clouds): when an import's ``disk_format`` is one qemu-img converts and differs from
``imports.convert_to``, the source is spooled to a temporary file (capped at the image
size limit), must pass format inspection for the format it claims (no backing file, no
external extents...), is converted with qemu-img under CPU and memory limits, and the
converted bytes are what the stores receive; the image's ``disk_format`` becomes the target.
Whether an import converts is decided when it is accepted and kept in the task's input
(``convert``), so every store of a multi-store import gets the same data.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from glimpse.core.errors import PayloadTooLarge
from glimpse.models.tables import Image
from glimpse.resolvers import qemu
from glimpse.resolvers.deps import Deps
from glimpse.stores.inspect import FormatInspection

CHUNK = 1024 * 1024


def plan(deps: Deps, image: Image, method: str) -> dict[str, str] | None:
    """``{"from": fmt, "to": target}`` when this import converts, else ``None``."""
    opts = deps.settings.imports
    fmt, target = image.disk_format or "", opts.convert_to
    if "convert" not in opts.plugins or method == "copy-image":
        return None
    if image.container_format != "bare" or fmt == target:
        return None
    if fmt not in qemu.QEMU_FORMATS or target not in qemu.QEMU_FORMATS:
        return None
    return {"from": fmt, "to": target}


async def converted(
    deps: Deps, source: AsyncIterator[bytes], conversion: dict[str, Any]
) -> AsyncIterator[bytes]:
    """``source`` (in ``conversion["from"]``) converted to ``conversion["to"]``."""
    limit = deps.settings.max_image_size
    with tempfile.TemporaryDirectory(prefix="glimpse-convert-") as tmp:
        src, dst = Path(tmp) / "source", Path(tmp) / "converted"
        inspection = FormatInspection()
        with src.open("wb") as fh:
            written = 0
            async for block in source:
                written += len(block)
                if written > limit:
                    raise PayloadTooLarge(f"The image is larger than {limit} bytes")
                inspection(block)
                await anyio.to_thread.run_sync(fh.write, block)
        inspection.verdict(conversion["from"])  # the claimed format, and safe to open
        await qemu.convert(deps.settings.tasks, src, conversion["from"], dst, conversion["to"])
        src.unlink()
        with dst.open("rb") as fh:
            while block := await anyio.to_thread.run_sync(fh.read, CHUNK):
                yield block
