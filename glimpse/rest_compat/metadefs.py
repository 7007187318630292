"""Glance ``/v2/metadefs/...`` and ``/v2/schemas/metadefs/...``: parse, call a resolver, render.

:data:`METADEF_ROUTES` is merged into the one route table (glimpse.rest_compat.routes) as
``path -> method -> (handler, body expected)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from glimpse.core.errors import InvalidInput
from glimpse.resolvers import metadef_checks as checks
from glimpse.resolvers import metadef_items as items
from glimpse.resolvers import metadefs
from glimpse.resolvers.metadef_catalog import document_input
from glimpse.rest_compat import metadef_render as render
from glimpse.rest_compat.listing import page_links
from glimpse.rest_compat.metadef_schemas import SCHEMAS
from glimpse.rest_compat.responses import JSONResponse
from glimpse.rest_compat.wire import absolute, ctx_of, deps_of, read_json

Handler = Callable[[Request], Awaitable[Response]]


def _ns(request: Request) -> str:
    return str(request.path_params["namespace"])


def _no_content() -> Response:
    return Response(status_code=204)


# ---------------------------------------------------------------------------- namespaces


def _list_query(request: Request) -> tuple[metadefs.NamespaceQuery, str | None]:
    params, settings = request.query_params, deps_of(request).settings
    raw_limit = params.get("limit")
    try:
        limit = settings.page_default if raw_limit is None else int(raw_limit)
    except ValueError as exc:
        raise InvalidInput("limit param must be an integer") from exc
    if limit < 0:
        raise InvalidInput("limit param must be positive")
    types = tuple(t.strip() for t in params.get("resource_types", "").split(",") if t.strip())
    query = metadefs.NamespaceQuery(
        limit=min(limit, settings.page_max),
        sort_key=params.get("sort_key", "created_at"),
        sort_dir=params.get("sort_dir", "desc"),  # type: ignore[arg-type]  # checked by resolver
        visibility=params.get("visibility"),
        resource_types=types,
    )
    return query, params.get("marker")


async def list_namespaces(request: Request) -> Response:
    deps, ctx = deps_of(request), ctx_of(request)
    query, marker = _list_query(request)
    if marker:
        after = await metadefs.keyset_for_marker(deps, ctx, marker, query.sort_key)
        query = replace(query, after=after)
    page = await metadefs.list_namespaces(deps, ctx, query)
    next_marker = page.items[-1].ns.namespace if page.has_next and page.items else None
    first, nxt = page_links(render.NS_PATH, request.query_params, next_marker)
    body: dict[str, Any] = {
        "namespaces": [render.namespace_json(r) for r in page.items],
        "first": first,
        "schema": "/v2/schemas/metadefs/namespaces",
    }
    if nxt:
        body["next"] = nxt
    return JSONResponse(body)


async def create_namespace(request: Request) -> Response:
    body = await read_json(request)
    data = document_input({k: v for k, v in body.items() if k not in checks.READ_ONLY})
    unknown = (
        set(body)
        - {*checks.NAMESPACE_FIELDS, *checks.READ_ONLY}
        - {
            "properties",
            "objects",
            "tags",
            "resource_type_associations",
        }
    )
    if unknown:
        raise InvalidInput(f"Unknown namespace attribute(s): {', '.join(sorted(unknown))}")
    rec = await metadefs.create_namespace(deps_of(request), ctx_of(request), data)
    location = absolute(request, render.ns_path(rec.ns.namespace))
    return JSONResponse(
        render.namespace_json(rec, full=True), status_code=201, headers={"Location": location}
    )


async def show_namespace(request: Request) -> Response:
    rec = await metadefs.get_namespace(deps_of(request), ctx_of(request), _ns(request))
    prefix = metadefs.prefix_for(rec, request.query_params.get("resource_type"))
    return JSONResponse(render.namespace_json(rec, full=True, prefix=prefix))


async def update_namespace(request: Request) -> Response:
    body = await read_json(request)
    values = {k: v for k, v in body.items() if k not in checks.READ_ONLY}
    for key in ("properties", "objects", "tags", "resource_type_associations"):
        values.pop(key, None)  # contents have their own endpoints; Glance ignores them here
    rec = await metadefs.update_namespace(deps_of(request), ctx_of(request), _ns(request), values)
    return JSONResponse(render.namespace_json(rec, full=True))


async def delete_namespace(request: Request) -> Response:
    await metadefs.delete_namespace(deps_of(request), ctx_of(request), _ns(request))
    return _no_content()


# ---------------------------------------------------------------------------- objects


async def list_objects(request: Request) -> Response:
    ns = _ns(request)
    rows = await items.list_objects(deps_of(request), ctx_of(request), ns)
    return JSONResponse(
        {
            "objects": [render.object_json(ns, o) for o in rows],
            "schema": "/v2/schemas/metadefs/objects",
        }
    )


async def create_object(request: Request) -> Response:
    ns = _ns(request)
    obj = checks.object_input(await read_json(request))
    row = await items.create_object(deps_of(request), ctx_of(request), ns, obj)
    return JSONResponse(render.object_json(ns, row), status_code=201)


async def show_object(request: Request) -> Response:
    ns, name = _ns(request), request.path_params["name"]
    row = await items.get_object(deps_of(request), ctx_of(request), ns, name)
    return JSONResponse(render.object_json(ns, row))


async def update_object(request: Request) -> Response:
    ns, name = _ns(request), request.path_params["name"]
    obj = checks.object_input(await read_json(request))
    row = await items.update_object(deps_of(request), ctx_of(request), ns, name, obj)
    return JSONResponse(render.object_json(ns, row))


async def delete_object(request: Request) -> Response:
    p = request.path_params
    await items.delete_object(deps_of(request), ctx_of(request), _ns(request), p["name"])
    return _no_content()


async def delete_objects(request: Request) -> Response:
    await items.delete_objects(deps_of(request), ctx_of(request), _ns(request))
    return _no_content()


# ---------------------------------------------------------------------------- properties


async def list_properties(request: Request) -> Response:
    rows = await items.list_properties(deps_of(request), ctx_of(request), _ns(request))
    return JSONResponse({"properties": render.properties_map(rows)})


async def create_property(request: Request) -> Response:
    body = await read_json(request)
    name = items.require_name(body)
    row = await items.create_property(deps_of(request), ctx_of(request), _ns(request), name, body)
    return JSONResponse(render.property_json(row), status_code=201)


async def show_property(request: Request) -> Response:
    name = request.path_params["name"]
    rtype = request.query_params.get("resource_type")
    row = await items.get_property(deps_of(request), ctx_of(request), _ns(request), name, rtype)
    return JSONResponse(render.property_json(row, name if rtype else None))


async def update_property(request: Request) -> Response:
    body = await read_json(request)
    new_name = items.require_name(body)
    row = await items.update_property(
        deps_of(request), ctx_of(request), _ns(request), request.path_params["name"], new_name, body
    )
    return JSONResponse(render.property_json(row))


async def delete_property(request: Request) -> Response:
    name = request.path_params["name"]
    await items.delete_property(deps_of(request), ctx_of(request), _ns(request), name)
    return _no_content()


async def delete_properties(request: Request) -> Response:
    await items.delete_properties(deps_of(request), ctx_of(request), _ns(request))
    return _no_content()


# ---------------------------------------------------------------------------- tags


async def list_tags(request: Request) -> Response:
    rows = await items.list_tags(deps_of(request), ctx_of(request), _ns(request))
    return JSONResponse({"tags": [render.tag_json(t) for t in rows]})


async def create_tags(request: Request) -> Response:
    body = await read_json(request)
    tags = body.get("tags")
    if not isinstance(tags, list):
        raise InvalidInput("'tags' must be an array of {\"name\": ...} objects")
    names = [items.require_name(t) for t in tags]
    append = request.headers.get("x-openstack-append", "").strip().lower() == "true"
    rows = await items.create_tags(
        deps_of(request), ctx_of(request), _ns(request), names, append=append
    )
    return JSONResponse({"tags": [render.tag_json(t) for t in rows]}, status_code=201)


async def create_tag(request: Request) -> Response:
    name = request.path_params["name"]
    row = await items.create_tag(deps_of(request), ctx_of(request), _ns(request), name)
    return JSONResponse(render.tag_json(row), status_code=201)


async def show_tag(request: Request) -> Response:
    name = request.path_params["name"]
    row = await items.get_tag(deps_of(request), ctx_of(request), _ns(request), name)
    return JSONResponse(render.tag_json(row))


async def update_tag(request: Request) -> Response:
    new_name = items.require_name(await read_json(request))
    row = await items.rename_tag(
        deps_of(request), ctx_of(request), _ns(request), request.path_params["name"], new_name
    )
    return JSONResponse(render.tag_json(row))


async def delete_tag(request: Request) -> Response:
    name = request.path_params["name"]
    await items.delete_tag(deps_of(request), ctx_of(request), _ns(request), name)
    return _no_content()


async def delete_tags(request: Request) -> Response:
    await items.delete_tags(deps_of(request), ctx_of(request), _ns(request))
    return _no_content()


# ---------------------------------------------------------------------------- resource types


async def list_resource_types(request: Request) -> Response:
    rows = await metadefs.list_resource_types(deps_of(request), ctx_of(request))
    return JSONResponse({"resource_types": [render.tag_json(r) for r in rows]})  # type: ignore[arg-type]


async def list_associations(request: Request) -> Response:
    rows = await metadefs.list_associations(deps_of(request), ctx_of(request), _ns(request))
    return JSONResponse({"resource_type_associations": [render.association_json(a) for a in rows]})


async def create_association(request: Request) -> Response:
    body = await read_json(request)
    assoc = metadefs.Association(
        items.require_name(body), body.get("prefix"), body.get("properties_target")
    )
    made = await metadefs.add_association(deps_of(request), ctx_of(request), _ns(request), assoc)
    return JSONResponse(render.association_json(made), status_code=201)


async def delete_association(request: Request) -> Response:
    rt = request.path_params["name"]
    await metadefs.remove_association(deps_of(request), ctx_of(request), _ns(request), rt)
    return _no_content()


# ---------------------------------------------------------------------------- schemas


def _schema(name: str) -> Handler:
    async def handler(request: Request) -> Response:
        return JSONResponse(SCHEMAS[name])

    return handler


NS = "/v2/metadefs/namespaces/{namespace}"
METADEF_ROUTES: dict[str, dict[str, tuple[Handler, bool]]] = {
    "/v2/metadefs/namespaces": {
        "GET": (list_namespaces, False),
        "POST": (create_namespace, True),
    },
    NS: {
        "GET": (show_namespace, False),
        "PUT": (update_namespace, True),
        "DELETE": (delete_namespace, False),
    },
    f"{NS}/objects": {
        "GET": (list_objects, False),
        "POST": (create_object, True),
        "DELETE": (delete_objects, False),
    },
    f"{NS}/objects/{{name}}": {
        "GET": (show_object, False),
        "PUT": (update_object, True),
        "DELETE": (delete_object, False),
    },
    f"{NS}/properties": {
        "GET": (list_properties, False),
        "POST": (create_property, True),
        "DELETE": (delete_properties, False),
    },
    f"{NS}/properties/{{name}}": {
        "GET": (show_property, False),
        "PUT": (update_property, True),
        "DELETE": (delete_property, False),
    },
    f"{NS}/tags": {
        "GET": (list_tags, False),
        "POST": (create_tags, True),
        "DELETE": (delete_tags, False),
    },
    f"{NS}/tags/{{name}}": {
        "GET": (show_tag, False),
        "POST": (create_tag, False),
        "PUT": (update_tag, True),
        "DELETE": (delete_tag, False),
    },
    "/v2/metadefs/resource_types": {"GET": (list_resource_types, False)},
    f"{NS}/resource_types": {
        "GET": (list_associations, False),
        "POST": (create_association, True),
    },
    f"{NS}/resource_types/{{name}}": {"DELETE": (delete_association, False)},
    **{f"/v2/schemas/metadefs/{name}": {"GET": (_schema(name), False)} for name in SCHEMAS},
}
