"""Glance's store discovery and delete-from-store (multi-store only; §1.6)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from glimpse.resolvers import storage
from glimpse.resolvers.storage import StoreInfo
from glimpse.rest_compat.responses import JSONResponse
from glimpse.rest_compat.wire import ctx_of, deps_of


def _store_json(info: StoreInfo, *, detail: bool) -> dict[str, Any]:
    """Glance's flags are the string ``"true"`` and only present when set."""
    body: dict[str, Any] = {"id": info.id}
    if info.description:
        body["description"] = info.description
    if info.default:
        body["default"] = "true"
    if info.read_only:
        body["read-only"] = "true"
    if detail:
        body.update(type=info.type, weight=info.weight, properties=info.properties)
    return body


async def info(request: Request) -> Response:
    stores = storage.list_stores(deps_of(request), ctx_of(request))
    return JSONResponse({"stores": [_store_json(s, detail=False) for s in stores]})


async def info_detail(request: Request) -> Response:
    stores = storage.stores_detail(deps_of(request), ctx_of(request))
    return JSONResponse({"stores": [_store_json(s, detail=True) for s in stores]})


async def delete_from_store(request: Request) -> Response:
    await storage.delete_from_store(
        deps_of(request),
        ctx_of(request),
        request.path_params["store_id"],
        request.path_params["image_id"],
    )
    return Response(status_code=204)
