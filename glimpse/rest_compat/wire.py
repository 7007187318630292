"""Small request helpers shared by every REST handler: JSON bodies, ids, ``Location``."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from glimpse.core.context import RequestContext
from glimpse.core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from glimpse.resolvers.deps import Deps


def deps_of(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


def ctx_of(request: Request) -> RequestContext:
    """The authenticated caller (the auth middleware already refused anonymous callers)."""
    ctx: RequestContext = request.scope["glimpse.ctx"]
    return ctx


async def read_json(
    request: Request, *, kinds: tuple[type, ...] = (dict,), media_types: tuple[str, ...] = ()
) -> Any:
    """Parse a bounded JSON body; 400 for malformed JSON or a wrong top-level type."""
    if media_types:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in media_types:
            raise UnsupportedMediaType(
                f"Unsupported Content-Type: {ctype or 'none'}",
                headers={"Accept-Patch": ", ".join(media_types)},
            )
    limit = deps_of(request).settings.max_json_body
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise PayloadTooLarge(f"Request body larger than {limit} bytes")
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Malformed JSON in request body: {exc}") from exc
    if not isinstance(body, kinds):
        names = " or ".join("object" if k is dict else "array" for k in kinds)
        raise InvalidInput(f"Request body must be a JSON {names}")
    return body


def absolute(request: Request, path: str) -> str:
    base = deps_of(request).settings.public_url.rstrip("/")
    if not base:
        base = str(request.base_url).rstrip("/")
    return f"{base}{path}"
