"""Glance ``/v2/images`` handlers: parse the wire format, call a resolver, render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from glimpse.core.errors import Forbidden, GlimpseError, InvalidInput
from glimpse.resolvers import images, imports
from glimpse.resolvers.images import ImageCreate, ImagePatch, PatchOp
from glimpse.rest_compat.listing import page_links, parse_list
from glimpse.rest_compat.render import image_json
from glimpse.rest_compat.responses import JSONResponse
from glimpse.rest_compat.wire import absolute, ctx_of, deps_of, read_json

_T = TypeVar("_T")
PATCH_V21 = "application/openstack-images-v2.1-json-patch"
PATCH_V20 = "application/openstack-images-v2.0-json-patch"


async def create(request: Request) -> Response:
    deps, ctx = deps_of(request), ctx_of(request)
    body = await read_json(request)
    rec = await images.create(deps, ctx, ImageCreate(body))
    headers = {
        "Location": absolute(request, f"/v2/images/{rec.image.id}"),
        "OpenStack-image-import-methods": ",".join(imports.methods(deps)),
    }
    if deps.settings.multi_store:
        headers["OpenStack-image-store-ids"] = ",".join(deps.stores.names)
    return JSONResponse(image_json(rec, deps.settings), status_code=201, headers=headers)


async def index(request: Request) -> Response:
    deps, ctx = deps_of(request), ctx_of(request)
    s = deps.settings
    query, marker = parse_list(request.query_params, s.page_default, s.page_max)
    if marker:
        from dataclasses import replace

        query = replace(query, after=await images.keyset_for_marker(deps, ctx, marker, query.sort))
    page = await images.list_images(deps, ctx, query)
    next_marker = page.items[-1].image.id if page.has_next and page.items else None
    first, nxt = page_links("/v2/images", request.query_params, next_marker)
    body: dict[str, Any] = {
        "images": [image_json(r, s) for r in page.items],
        "first": first,
        "schema": "/v2/schemas/images",
    }
    if nxt:
        body["next"] = nxt
    return JSONResponse(body)


async def show(request: Request) -> Response:
    deps, ctx = deps_of(request), ctx_of(request)
    rec = await images.get(deps, ctx, request.path_params["image_id"])
    return JSONResponse(image_json(rec, deps.settings))


async def _parsed(request: Request, parse: Callable[[], Awaitable[_T]]) -> _T:
    """The parsed body; when it is refused, an image the caller cannot see is a 404 first
    (as Glance answers), checked only then so that good requests pay nothing for it."""
    try:
        return await parse()
    except GlimpseError:
        await images.get(deps_of(request), ctx_of(request), request.path_params["image_id"])
        raise


async def patch(request: Request) -> Response:
    deps, ctx = deps_of(request), ctx_of(request)
    image_id = request.path_params["image_id"]

    async def ops() -> list[PatchOp]:
        body = await read_json(request, kinds=(list,), media_types=(PATCH_V21, PATCH_V20))
        ctype = request.headers["content-type"].split(";")[0].strip().lower()
        return [_patch_op(item, v20=(ctype == PATCH_V20)) for item in body]

    parsed = await _parsed(request, ops)
    ctype = request.headers["content-type"].split(";")[0].strip().lower()
    rec = await images.update(
        deps, ctx, image_id, ImagePatch(parsed, add_must_be_new=ctype == PATCH_V20)
    )
    return JSONResponse(image_json(rec, deps.settings))


def _patch_op(item: Any, *, v20: bool) -> PatchOp:
    if not isinstance(item, dict):
        raise InvalidInput("Each patch operation must be a JSON object")
    op: Any
    if v20:
        keys = [k for k in ("add", "remove", "replace") if k in item]
        if len(keys) != 1 or "op" in item:
            raise InvalidInput("Operation objects must contain exactly one of add, remove, replace")
        op, path = keys[0], item[keys[0]]
    else:
        op, path = str(item.get("op")), item.get("path")
        if item.get("op") not in ("add", "remove", "replace"):
            raise InvalidInput(f"Invalid operation: {item.get('op')!r}")
    if op != "remove" and "value" not in item:
        raise InvalidInput(f"Operation '{op}' requires a value")
    return PatchOp(op, _pointer(path), item.get("value"))


def _pointer(path: Any) -> str:
    """A JSON pointer of depth 1 (``/name``), unescaped; anything else is a 400."""
    if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):
        raise InvalidInput(f"Invalid JSON pointer: {path!r}")
    parts = path[1:].split("/")
    if any(not p for p in parts):
        raise InvalidInput(f"Invalid JSON pointer: {path!r}")
    if len(parts) != 1:
        if parts[0] == "locations":
            raise Forbidden("Locations are not exposed by this deployment")
        raise InvalidInput(f"Nested paths are not allowed: {path!r}")
    if "~" in parts[0] and not _valid_escapes(parts[0]):
        raise InvalidInput(f"Invalid JSON pointer escape in {path!r}")
    return parts[0].replace("~1", "/").replace("~0", "~")


def _valid_escapes(part: str) -> bool:
    i = part.find("~")
    while i != -1:
        if i + 1 >= len(part) or part[i + 1] not in "01":
            return False
        i = part.find("~", i + 2)
    return True


async def put(request: Request) -> Response:
    """The product's original form: a JSON object of changes, merged into the image."""
    deps, ctx = deps_of(request), ctx_of(request)
    image_id = request.path_params["image_id"]
    body = await _parsed(request, lambda: read_json(request))
    rec = await images.merge(deps, ctx, image_id, body)
    return JSONResponse(image_json(rec, deps.settings))


async def delete(request: Request) -> Response:
    await images.delete(deps_of(request), ctx_of(request), request.path_params["image_id"])
    return Response(status_code=204)


async def add_tag(request: Request) -> Response:
    p = request.path_params
    await images.add_tag(deps_of(request), ctx_of(request), p["image_id"], p["tag"])
    return Response(status_code=204)


async def remove_tag(request: Request) -> Response:
    p = request.path_params
    await images.remove_tag(deps_of(request), ctx_of(request), p["image_id"], p["tag"])
    return Response(status_code=204)


async def deactivate(request: Request) -> Response:
    await images.deactivate(deps_of(request), ctx_of(request), request.path_params["image_id"])
    return Response(status_code=204)


async def reactivate(request: Request) -> Response:
    await images.reactivate(deps_of(request), ctx_of(request), request.path_params["image_id"])
    return Response(status_code=204)
