"""``/v2/info/usage``: the caller's quota usage in Glance's shape (§1.15).

(``/v2/info/import`` and ``/v2/info/stores`` live with their areas: imports.py, stores.py.)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from glimpse.resolvers import discovery
from glimpse.rest_compat.responses import JSONResponse
from glimpse.rest_compat.wire import ctx_of, deps_of


async def usage(request: Request) -> Response:
    return JSONResponse({"usage": await discovery.usage(deps_of(request), ctx_of(request))})
