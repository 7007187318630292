"""``/v2/info/*``: import methods, stores and quota usage in Glance's shapes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from glimpse.resolvers import discovery
from glimpse.resolvers.discovery import StoreInfo
from glimpse.rest_compat.wire import ctx_of, deps_of


async def import_info(request: Request) -> Response:
    methods = discovery.import_methods(deps_of(request))
    return JSONResponse(
        {
            "import-methods": {
                "description": "Import methods available.",
                "type": "array",
                "value": list(methods),
            }
        }
    )


def _store_json(store: StoreInfo, *, detail: bool) -> dict[str, Any]:
    # Glance renders these flags as the strings "true", and only when they hold.
    body: dict[str, Any] = {"id": store.id, "description": store.description}
    if store.default:
        body["default"] = "true"
    if store.read_only:
        body["read-only"] = "true"
    if detail:
        body |= {"type": store.type, "weight": store.weight, "properties": store.properties}
    return body


async def stores(request: Request) -> Response:
    found = discovery.stores(deps_of(request), ctx_of(request))
    return JSONResponse({"stores": [_store_json(s, detail=False) for s in found]})


async def stores_detail(request: Request) -> Response:
    found = discovery.stores(deps_of(request), ctx_of(request), detail=True)
    return JSONResponse({"stores": [_store_json(s, detail=True) for s in found]})


async def usage(request: Request) -> Response:
    return JSONResponse({"usage": await discovery.usage(deps_of(request), ctx_of(request))})
