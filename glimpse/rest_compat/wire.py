"""Small request helpers shared by every REST handler: JSON bodies, ids, ``Location``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from glimpse.core.context import RequestContext
from glimpse.core.errors import InvalidInput, UnsupportedMediaType
from glimpse.edge import jsonwire
from glimpse.edge.bodies import has_body, read_body
from glimpse.edge.urls import base_url
from glimpse.resolvers.deps import Deps


def deps_of(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


def ctx_of(request: Request) -> RequestContext:
    """The authenticated caller (the auth middleware already refused anonymous callers)."""
    ctx: RequestContext = request.scope["glimpse.ctx"]
    return ctx


JSON_TYPES = ("application/json",)


async def read_json(
    request: Request,
    *,
    kinds: tuple[type, ...] = (dict,),
    media_types: tuple[str, ...] = JSON_TYPES,
) -> Any:
    """Parse a JSON body, capped while it streams (413) and decoded strictly (see
    glimpse.edge.jsonwire); 415 for a declared type that is not JSON, 400 for malformed
    JSON or a wrong top-level type."""
    _check_media_type(request, media_types)
    raw = await read_body(request, deps_of(request).settings.max_json_body)
    body = jsonwire.loads(raw) if raw.strip() else None
    if not isinstance(body, kinds):
        names = " or ".join("object" if k is dict else "array" for k in kinds)
        raise InvalidInput(f"Request body must be a JSON {names}")
    return body


def _check_media_type(request: Request, media_types: tuple[str, ...]) -> None:
    """A body must declare one of ``media_types``; no body and no type falls through to
    the "must be a JSON object" 400."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in media_types or (not ctype and not has_body(request.scope)):
        return
    headers = {} if media_types == JSON_TYPES else {"Accept-Patch": ", ".join(media_types)}
    raise UnsupportedMediaType(f"Unsupported Content-Type: {ctype or 'none'}", headers=headers)


def absolute(request: Request, path: str) -> str:
    """``path`` as an absolute URL of this service (see glimpse.edge.urls: never ``Host``)."""
    return base_url(request.scope, deps_of(request).settings.public_url) + path
