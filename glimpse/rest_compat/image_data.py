"""``PUT``/``GET /v2/images/{id}/file``: streamed in and out, never buffered whole."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from glimpse.core.errors import InvalidInput, UnsupportedMediaType
from glimpse.resolvers import data
from glimpse.resolvers.data import ByteRange
from glimpse.rest_compat.wire import ctx_of, deps_of

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


async def upload(request: Request) -> Response:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/octet-stream":
        raise UnsupportedMediaType(f"Content-Type must be application/octet-stream, not {ctype!r}")
    size = _size_header(request.headers.get("x-openstack-image-size"))
    await data.upload(
        deps_of(request),
        ctx_of(request),
        request.path_params["image_id"],
        _body(request),
        expected_size=size,
        store_name=request.headers.get("x-image-meta-store"),
    )
    return Response(status_code=204)


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect as exc:
        raise InvalidInput("Client disconnected before the upload completed") from exc


def _size_header(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidInput("x-openstack-image-size must be an integer") from exc
    if value < 0:
        raise InvalidInput("x-openstack-image-size must not be negative")
    return value


async def download(request: Request) -> Response:
    rng = parse_range(request.headers.get("range"), request.headers.get("content-range"))
    dl = await data.prepare_download(
        deps_of(request), ctx_of(request), request.path_params["image_id"], rng
    )
    if dl.store is None:
        return Response(status_code=204)
    if dl.redirect is not None:
        return RedirectResponse(dl.redirect, status_code=dl.redirect_status)
    headers = {"Content-Length": str(dl.length)}
    if dl.image.checksum:
        headers["Content-MD5"] = dl.image.checksum
    path = dl.local_path()
    if not dl.partial and path is not None:
        # Full downloads from local files go through the server's file fast path.
        return FileResponse(path, headers=headers, media_type="application/octet-stream")
    status = 200
    if dl.partial:
        status = 206
        headers["Content-Range"] = f"bytes {dl.start}-{dl.end - 1}/{dl.size}"
    return StreamingResponse(
        dl.chunks(), status_code=status, headers=headers, media_type="application/octet-stream"
    )


def parse_range(range_header: str | None, content_range: str | None) -> ByteRange | None:
    """One ``bytes=a-b`` / ``bytes=-n`` range, or Glance's legacy request ``Content-Range``.

    As in Glance: several ranges are a 400; a range that does not parse (``bytes=10-5``,
    ``bytes=abc``) is a 416, decided after the image was found and may be read."""
    if range_header:
        if "," in range_header:
            raise InvalidInput("Multiple ranges are not supported")
        m = _RANGE.match(range_header.strip())
        if not m or (not m.group(1) and not m.group(2)):
            return ByteRange(invalid=True)
        start, end = m.group(1), m.group(2)
        if not start:
            return ByteRange(suffix=int(end))
        if end and int(end) < int(start):
            return ByteRange(invalid=True)
        return ByteRange(start=int(start), end=int(end) if end else None)
    if content_range:
        return _content_range(content_range)
    return None


def _content_range(header: str) -> ByteRange:
    """``bytes a-b/total`` or ``bytes a-b/*``: ``b`` may not precede ``a`` nor reach the
    stated total; without a total it must lie inside the image (else 416)."""
    m = _CONTENT_RANGE.match(header.strip())
    if not m:
        return ByteRange(invalid=True)
    start, end, total = int(m.group(1)), int(m.group(2)), m.group(3)
    if end < start or (total != "*" and end >= int(total)):
        return ByteRange(invalid=True)
    return ByteRange(start=start, end=end, end_within=total == "*")
