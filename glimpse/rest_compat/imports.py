"""Interoperable import on the Glance surface: stage, import, ``/v2/info/import``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from glimpse.core.errors import InvalidInput, NotFound, UnsupportedMediaType
from glimpse.resolvers import data, imports
from glimpse.resolvers.imports import ImportRequest
from glimpse.rest_compat.image_data import _body, _size_header
from glimpse.rest_compat.responses import JSONResponse
from glimpse.rest_compat.wire import ctx_of, deps_of, read_json


async def stage(request: Request) -> Response:
    deps = deps_of(request)
    if "glance-direct" not in imports.methods(deps):
        raise NotFound("The glance-direct import method is not enabled")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/octet-stream":
        raise UnsupportedMediaType(f"Content-Type must be application/octet-stream, not {ctype!r}")
    await data.stage(
        deps,
        ctx_of(request),
        request.path_params["image_id"],
        _body(request),
        expected_size=_size_header(request.headers.get("x-openstack-image-size")),
    )
    return Response(status_code=204)


def parse_import(body: Any, header_store: str | None) -> ImportRequest:
    """Glance's import body -> the neutral request (400 for malformed parts)."""
    method = body.get("method")
    if not isinstance(method, dict) or not isinstance(method.get("name"), str):
        raise InvalidInput("Import request requires a 'method' with a 'name'")
    for flag in ("all_stores", "all_stores_must_succeed"):
        if flag in body and not isinstance(body[flag], bool):
            raise InvalidInput(f"'{flag}' must be a boolean")
    stores = body.get("stores")
    if stores is not None and (
        not isinstance(stores, list) or not all(isinstance(x, str) for x in stores)
    ):
        raise InvalidInput("'stores' must be a list of store ids")
    if stores is None and header_store:
        stores = [header_store]
    uri = method.get("uri")
    if method["name"] == "web-download" and not isinstance(uri, str):
        raise InvalidInput("web-download requires a 'uri'")
    return ImportRequest(
        method=method["name"],
        uri=uri if isinstance(uri, str) else None,
        stores=tuple(stores) if stores else None,
        all_stores=body.get("all_stores", False),
        all_stores_must_succeed=body.get("all_stores_must_succeed", True),
    )


async def start(request: Request) -> Response:
    deps, ctx = deps_of(request), ctx_of(request)
    body = await read_json(request)
    req = parse_import(body, request.headers.get("x-image-meta-store"))
    await imports.start_import(deps, ctx, request.path_params["image_id"], req)
    return Response(status_code=202)


async def info_import(request: Request) -> Response:
    value = list(imports.methods(deps_of(request)))
    return JSONResponse(
        {
            "import-methods": {
                "description": "Import methods available.",
                "type": "array",
                "value": value,
            }
        }
    )
