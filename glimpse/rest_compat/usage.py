"""``GET /v2/info/usage``: the caller's project quota usage (glance-api.md §1.15)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from glimpse.resolvers import quotas
from glimpse.rest_compat.wire import ctx_of, deps_of


async def usage(request: Request) -> Response:
    return JSONResponse({"usage": await quotas.usage(deps_of(request), ctx_of(request))})
