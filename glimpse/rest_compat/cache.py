"""Glance's image cache API (§1.12): admin-only, 404 "not supported" without a cache."""

from __future__ import annotations

from calendar import timegm
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from glimpse.resolvers import cache
from glimpse.rest_compat.responses import JSONResponse
from glimpse.rest_compat.wire import ctx_of, deps_of


def _epoch(dt: datetime) -> float:
    """Glance reports cache times as UNIX timestamps (floats)."""
    return timegm(dt.utctimetuple()) + dt.microsecond / 1e6


async def state(request: Request) -> Response:
    st = await cache.state(deps_of(request), ctx_of(request))
    cached = [
        {
            "image_id": row.image_id,
            "hits": row.hits,
            "last_accessed": _epoch(row.last_accessed),
            "last_modified": _epoch(row.last_modified),
            "size": row.size,
        }
        for row in st.cached
    ]
    return JSONResponse({"cached_images": cached, "queued_images": st.queued})


async def queue(request: Request) -> Response:
    await cache.queue(deps_of(request), ctx_of(request), request.path_params["image_id"])
    return Response(status_code=202)


async def delete(request: Request) -> Response:
    await cache.delete(deps_of(request), ctx_of(request), request.path_params["image_id"])
    return Response(status_code=204)


async def clear(request: Request) -> Response:
    target = request.headers.get("x-image-cache-clear-target", "")
    await cache.clear(deps_of(request), ctx_of(request), target)
    return Response(status_code=204)


async def clean(request: Request) -> Response:
    return JSONResponse(await cache.clean(deps_of(request), ctx_of(request)))


async def prune(request: Request) -> Response:
    return JSONResponse(await cache.prune(deps_of(request), ctx_of(request)))
