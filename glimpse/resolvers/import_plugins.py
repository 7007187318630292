"""Which import plugins an import runs, and running them (Glance's ``image_import_plugins``).

Decided when the import is accepted (the caller's roles, the image's formats) and kept in
the task's input, so every step and every store of the import agrees: ``inject_properties``
(metadata injection) and ``convert`` (the qemu-img conversion plan). Decompression needs no
decision: it looks at the data. Plugins never run for copy-image (the data is not new).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.context import RequestContext
from glimpse.models.tables import Image
from glimpse.resolvers import convert
from glimpse.resolvers import image_lock as lk
from glimpse.resolvers.decompress import Bounds, decompressed
from glimpse.resolvers.deps import Deps


def task_options(deps: Deps, ctx: RequestContext, image: Image, method: str) -> dict[str, Any]:
    """What to record in the task input of an import being accepted."""
    out: dict[str, Any] = {}
    opts = deps.settings.imports
    ignored = {r.lower() for r in opts.inject_ignore_roles}
    if (
        "inject_metadata" in opts.plugins
        and opts.inject_properties
        and method != "copy-image"
        and not ctx.principal.roles & ignored
    ):
        out["inject_properties"] = True
    conversion = convert.plan(deps, image, method)
    if conversion:
        out["convert"] = conversion
    return out


def prepared(
    deps: Deps, task_input: dict[str, Any], image: Image, source: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """``source`` through the data plugins (decompression, then conversion). ``image`` (the
    in-memory row the stores' inspection reads) takes the converted disk format."""
    if task_input.get("method") == "copy-image":
        return source
    opts = deps.settings.imports
    if "decompress" in opts.plugins and image.container_format != "compressed":
        bounds = Bounds(limit=deps.settings.max_image_size, max_ratio=opts.decompress_max_ratio)
        source = decompressed(source, bounds)
    conversion = task_input.get("convert")
    if conversion:
        source = convert.converted(deps, source, conversion)
        image.disk_format = conversion["to"]
    return source


def converted_format(task_input: dict[str, Any]) -> str | None:
    """The disk format an image ends up with after this import, if it converts."""
    conversion = task_input.get("convert")
    return str(conversion["to"]) if conversion else None


async def inject(s: AsyncSession, deps: Deps, task_input: dict[str, Any], image_id: str) -> None:
    """Set the operator's properties on the image (when the import was meant to)."""
    if task_input.get("inject_properties"):
        for name, value in deps.settings.imports.inject_properties.items():
            await lk.set_prop(s, image_id, name, str(value))
