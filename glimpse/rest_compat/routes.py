"""The one route table of the Glance ``/v2`` surface.

Each path lists its methods; a wrong method gets 405 with ``Allow``, a body on a bodiless
route gets 400, and every handler runs with an authenticated caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from glimpse.core.config import Settings
from glimpse.core.errors import InvalidInput, Unauthenticated
from glimpse.edge.urls import base_url
from glimpse.rest_compat import (
    actions,
    cache,
    image_data,
    images,
    imports,
    info,
    members,
    openapi,
    schemas,
    stores,
    tasks,
    tokens,
)
from glimpse.rest_compat.errors import error_response
from glimpse.rest_compat.metadefs import METADEF_ROUTES
from glimpse.rest_compat.responses import JSONResponse
from glimpse.rest_compat.wire import ctx_of

Handler = Callable[[Request], Awaitable[Response]]
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# Minor versions we implement; the highest is CURRENT.
# Always served: the base API (2.0-2.7), the image tasks API (2.12: /v2/images/{id}/tasks,
# which clients probe for by this id) and quota usage (2.15).
VERSIONS = (*(f"2.{n}" for n in range(0, 8)), "2.12", "2.15")
# Advertised only when the deployment has the feature, as Glance does: the multi-store
# family (store discovery, copy-image, delete-from-store, image tasks) and the cache API.
MULTI_STORE_VERSIONS = tuple(f"2.{n}" for n in range(8, 14))
CACHE_VERSIONS = ("2.14", "2.16", "2.18")


def advertised(settings: Settings) -> tuple[str, ...]:
    """The minor versions this deployment lists, lowest first."""
    found = set(VERSIONS)
    if settings.multi_store:
        found.update(MULTI_STORE_VERSIONS)
    if settings.cache.enabled:
        found.update(CACHE_VERSIONS)
    return tuple(sorted(found, key=lambda v: int(v.split(".")[1])))


def advertised_minors(settings: Settings) -> frozenset[int]:
    """Minor numbers accepted in ``/v2.N/...`` paths."""
    return frozenset(int(v.split(".")[1]) for v in advertised(settings))


@dataclass(frozen=True)
class Endpoint:
    handler: Handler
    body: bool = False  # whether a request body is expected
    auth: bool = True  # documentation (and login) is reachable without a token
    summary: str = ""  # one line for the OpenAPI description and the docs page


def _get(handler: Handler, summary: str = "", *, auth: bool = True) -> dict[str, Endpoint]:
    return {"GET": Endpoint(handler, auth=auth, summary=summary)}


# Path -> method -> endpoint. Other areas (tasks, metadefs, cache, stores) add their paths here.
ROUTES: dict[str, dict[str, Endpoint]] = {
    "/v2/images": {
        "GET": Endpoint(images.index, body=True),  # Glance does not reject a body here
        "POST": Endpoint(images.create, body=True),
    },
    "/v2/images/{image_id}": {
        "GET": Endpoint(images.show),
        "PATCH": Endpoint(images.patch, body=True),
        "PUT": Endpoint(images.put, body=True),
        "DELETE": Endpoint(images.delete),
    },
    "/v2/images/{image_id}/file": {
        "GET": Endpoint(image_data.download),
        "PUT": Endpoint(image_data.upload, body=True),
    },
    "/v2/images/{image_id}/tags/{tag}": {
        "PUT": Endpoint(images.add_tag),
        "DELETE": Endpoint(images.remove_tag),
    },
    "/v2/images/{image_id}/actions/deactivate": {"POST": Endpoint(images.deactivate)},
    "/v2/images/{image_id}/actions/reactivate": {"POST": Endpoint(images.reactivate)},
    "/v2/tokens": {
        "POST": Endpoint(
            tokens.issue, body=True, auth=False, summary="Local account login: a bearer token"
        )
    },
    "/v2/images/{image_id}/members": {
        "GET": Endpoint(members.index),
        "POST": Endpoint(members.create, body=True),
    },
    "/v2/images/{image_id}/members/{member_id}": {
        "GET": Endpoint(members.show),
        "PUT": Endpoint(members.update, body=True),
        "DELETE": Endpoint(members.delete),
    },
    **{
        f"/v2/schemas/{name}": _get(schemas.handler_for(name), f"JSON schema '{name}'")
        for name in schemas.documents()
    },
    "/v2/info/usage": _get(info.usage),
    "/v2/openapi.json": _get(openapi.document, auth=False),
    "/v2/docs": _get(openapi.docs_page, auth=False),
    "/v2/info/stores": {"GET": Endpoint(stores.info)},
    "/v2/info/stores/detail": {"GET": Endpoint(stores.info_detail)},
    "/v2/stores/{store_id}/{image_id}": {"DELETE": Endpoint(stores.delete_from_store)},
    "/v2/cache": {"GET": Endpoint(cache.state), "DELETE": Endpoint(cache.clear)},
    "/v2/cache/clean": {"POST": Endpoint(cache.clean, body=True)},
    "/v2/cache/prune": {"POST": Endpoint(cache.prune, body=True)},
    "/v2/cache/{image_id}": {"PUT": Endpoint(cache.queue), "DELETE": Endpoint(cache.delete)},
    # Durable tasks, interoperable import and the product's actions (glimpse.tasks).
    "/v2/images/{image_id}/action/deactivate": {"POST": Endpoint(images.deactivate)},
    "/v2/images/{image_id}/action/reactivate": {"POST": Endpoint(images.reactivate)},
    "/v2/images/{image_id}/actions": {"POST": Endpoint(actions.perform, body=True)},
    "/v2/images/{image_id}/action": {"POST": Endpoint(actions.perform, body=True)},
    "/v2/images/{image_id}/stage": {"PUT": Endpoint(imports.stage, body=True)},
    "/v2/images/{image_id}/import": {"POST": Endpoint(imports.start, body=True)},
    "/v2/images/{image_id}/tasks": {"GET": Endpoint(tasks.image_tasks)},
    "/v2/info/import": {"GET": Endpoint(imports.info_import)},
    "/v2/tasks": {"GET": Endpoint(tasks.index), "POST": Endpoint(tasks.create, body=True)},
    "/v2/tasks/{task_id}": {"GET": Endpoint(tasks.show)},
}

ROUTES.update(
    {
        path: {method: Endpoint(handler, body=body) for method, (handler, body) in methods.items()}
        for path, methods in METADEF_ROUTES.items()
    }
)


def dispatcher(methods: dict[str, Endpoint]) -> Handler:
    allow = ", ".join(methods)

    async def dispatch(request: Request) -> Response:
        endpoint = methods.get(request.method)
        if endpoint is None and request.method == "HEAD" and "GET" in methods:
            endpoint = methods["GET"]
        if endpoint is None:
            return error_response(
                request, 405, "The method is not allowed for this resource.", {"Allow": allow}
            )
        _check_url(request)
        if endpoint.auth:
            _require_caller(request)
        if not endpoint.body and _has_body(request):
            raise InvalidInput("A body is not expected with this request.")
        return await endpoint.handler(request)

    return dispatch


def _require_caller(request: Request) -> None:
    """401 with the reason the credentials failed (expired, bad signature...), or because
    there were none."""
    error = request.scope.get("glimpse.auth_error")
    if error is not None:
        raise error
    if not ctx_of(request).principal.authenticated:
        raise Unauthenticated("Authentication required")


def _check_url(request: Request) -> None:
    """Glance answers 400 to a path or query string that is not UTF-8 once unquoted; a NUL
    (``%00``) is refused too: no id, name, tag or filter of this API can hold it, and
    PostgreSQL's text cannot store it."""
    raw_path = request.scope.get("raw_path") or b""
    for part in (raw_path, request.scope.get("query_string", b"")):
        try:
            decoded = unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput("The request URL is not valid UTF-8.") from exc
        if "\x00" in decoded:
            raise InvalidInput("The request URL must not contain NUL characters (%00).")


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "chunked" in request.headers.get("transfer-encoding", "").lower()


def versions_body(request: Request) -> dict[str, object]:
    href = base_url(request.scope, request.app.state.deps.settings.public_url) + "/v2/"
    listed = advertised(request.app.state.deps.settings)
    entries = [
        {
            "id": f"v{v}",
            "status": "CURRENT" if v == listed[-1] else "SUPPORTED",
            "links": [{"rel": "self", "href": href}],
        }
        for v in reversed(listed)
    ]
    return {"versions": entries}


async def root(request: Request) -> Response:
    return JSONResponse(versions_body(request), status_code=300)


async def versions(request: Request) -> Response:
    return JSONResponse(versions_body(request), status_code=200)


def routes() -> list[Route]:
    table = [
        Route(path, dispatcher(methods), methods=ALL_METHODS) for path, methods in ROUTES.items()
    ]
    return [
        Route("/", root, methods=ALL_METHODS),  # also unknown version prefixes (middleware)
        Route("/versions", versions, methods=["GET", "HEAD"]),
        *table,
    ]
