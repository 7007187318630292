"""``GET /ui/download/{image_id}?sig=...``: the console's download, authorised by a signed link.

The link (minted by the ``createDownloadLink`` mutation) replaces the bearer header a plain
browser navigation cannot send; the browser then streams the file straight to disk with its
own download manager and progress, and no page memory holds the image. A link works once
(see glimpse.policy.links).
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from glimpse.core.errors import Unauthenticated
from glimpse.resolvers import links
from glimpse.resolvers.deps import Deps

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def filename_for(name: str | None, image_id: str, disk_format: str | None) -> str:
    """A safe attachment name: the image name (or id) plus the disk format as extension."""
    stem = _UNSAFE.sub("_", name or "").strip("._") or image_id
    ext = f".{disk_format}" if disk_format and not stem.endswith(f".{disk_format}") else ""
    return f"{stem[:120]}{ext}"


async def download(request: Request) -> Response:
    deps: Deps = request.app.state.deps
    image_id = request.path_params["image_id"]
    sig = request.query_params.get("sig", "")
    if not sig:
        raise Unauthenticated("Download links need their signature (sig)")
    dl = await links.open_download(deps, image_id, sig, request.scope["glimpse.request_id"])
    if dl.store is None:
        return Response(status_code=204)
    name = filename_for(dl.image.name, image_id, dl.image.disk_format)
    headers = {
        "Content-Length": str(dl.length),
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }
    path = dl.local_path()
    if path is not None:
        return FileResponse(path, headers=headers, media_type="application/octet-stream")
    return StreamingResponse(dl.chunks(), headers=headers, media_type="application/octet-stream")


def routes() -> list[Route]:
    """Mounted by the app before the static ``/ui`` files so it takes precedence."""
    return [Route("/ui/download/{image_id}", download, methods=["GET"])]
