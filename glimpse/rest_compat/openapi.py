"""OpenAPI 3.1 description of the Glance ``/v2`` surface, and a self-contained docs page.

Built once from glimpse.rest_compat.openapi_ops (the operation table) and the very schema
documents ``/v2/schemas/*`` serve, so the description and the wire format cannot disagree on
what an image looks like. Both are readable without a token; the page needs no CDN.
"""

from __future__ import annotations

import copy
import html
import json
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from glimpse.edge.headers import content_security_policy, inline_hashes
from glimpse.rest_compat import schemas
from glimpse.rest_compat.openapi_ops import OPERATIONS, REASONS, op
from glimpse.rest_compat.responses import JSONResponse

ERROR_TYPES = ("application/json", "text/html", "text/plain")
VERSION = "2.7"


def _component(doc: dict[str, Any]) -> dict[str, Any]:
    """A Glance schema document as an OpenAPI (JSON Schema 2020-12) component."""
    out = {k: v for k, v in doc.items() if k not in ("name", "links")}
    out["type"] = "object"
    return out


def _object(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props)}


# Bodies that do not come from a Glance schema document.
_STATIC: dict[str, Any] = {
    "ImageChanges": {
        "type": "object",
        "description": "Base attributes to replace; custom properties to set (null removes).",
        "additionalProperties": {"type": ["string", "null"]},
    },
    "PatchOperations": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "op": {"enum": ["add", "replace", "remove"]},
                "path": {"type": "string"},
                "value": {},
            },
        },
    },
    "MemberCreate": _object(member={"type": "string"}),
    "MemberUpdate": _object(status={"enum": ["pending", "accepted", "rejected"]}),
    "ImportInfo": {"type": "object", "required": ["import-methods"]},
    "StoreList": _object(stores={"type": "array", "items": {"type": "object"}}),
    "Usage": _object(usage={"type": "object"}),
    "Versions": _object(versions={"type": "array", "items": {"type": "object"}}),
    "Binary": {"type": "string", "format": "binary"},
    "Html": {"type": "string"},
    "Any": {},
    "Error": {"type": ["object", "string"]},
}


def _components() -> dict[str, Any]:
    image = _component(schemas.image_schema())
    writable = {
        k: v for k, v in image["properties"].items() if not v.get("readOnly") and k != "locations"
    }
    member = schemas.member_schema()
    return {
        "Image": image,
        "ImageList": _component(schemas.collection("images", schemas.image_schema())),
        "ImageCreate": {
            "type": "object",
            "properties": writable,
            "additionalProperties": {"type": "string", "maxLength": 65535},
        },
        "Member": _component(member),
        "MemberList": _component(schemas.collection("members", member, minimal=True)),
        **copy.deepcopy(_STATIC),
    }


_MEDIA = {"Binary": "application/octet-stream", "Html": "text/html"}


def _responses(
    ok: dict[int, str | None], errors: tuple[int, ...], links: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code, schema in ok.items():
        resp: dict[str, Any] = {"description": REASONS[code]}
        if links and not out:
            resp["links"] = links
        if schema is not None:
            media = _MEDIA.get(schema, "application/json")
            resp["content"] = {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
        out[str(code)] = resp
    error_body = {t: {"schema": {"$ref": "#/components/schemas/Error"}} for t in ERROR_TYPES}
    for code in errors:
        out[str(code)] = {"description": REASONS[code], "content": error_body}
    return out


def _operation(path: str, method: str, spec: dict[str, Any]) -> dict[str, Any]:
    words = [w for w in path.replace("{", "").replace("}", "").split("/") if w]
    operation: dict[str, Any] = {
        "operationId": "_".join([method.lower(), *words]).replace(".", "_").replace("-", "_"),
        "summary": spec["summary"],
        "responses": _responses(spec["ok"], spec["errors"], spec["links"]),
    }
    if spec["params"]:
        operation["parameters"] = spec["params"]
    if spec["body"]:
        operation["requestBody"] = spec["body"]
    if spec["public"]:
        operation["security"] = []
    return operation


def all_operations() -> dict[str, dict[str, dict[str, Any]]]:
    """The operation table, one GET per schema document, and a generic description for any
    route another area added to the route table without describing it precisely."""
    from glimpse.rest_compat.routes import ROUTES  # late: routes imports this module

    ops = {path: dict(methods) for path, methods in OPERATIONS.items()}
    for name in schemas.documents():
        ops[f"/v2/schemas/{name}"] = {"GET": op(f"JSON schema '{name}'", {200: "Any"}, (400, 401))}
    for path, methods in ROUTES.items():
        for method, endpoint in methods.items():
            if method not in ops.get(path, {}):
                ops.setdefault(path, {})[method] = _generic(path, method, endpoint)
    return ops


def _generic(path: str, method: str, endpoint: Any) -> dict[str, Any]:
    params = [
        {"name": seg[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
        for seg in path.split("/")
        if seg.startswith("{")
    ]
    body = None
    if endpoint.body and method != "GET":
        body = {"required": False, "content": {"application/json": {"schema": {}}}}
    ok: dict[int, str | None] = {200: "Any", 201: "Any", 202: None, 204: None}
    errors = (400, 401, 403, 404, 409, 413, 415)
    summary = endpoint.summary or f"{method} {path}"
    return op(summary, ok, errors, params=params, body=body, public=not endpoint.auth)


@cache
def build() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/versions": {"get": _versions_op("List API versions", 200)},
        "/": {"get": _versions_op("API versions (Multiple Choices)", 300)},
    }
    for path, methods in all_operations().items():
        paths[path] = {m.lower(): _operation(path, m, spec) for m, spec in methods.items()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Glimpse Image API (OpenStack Glance v2 compatible)",
            "version": VERSION,
            "description": "Glance Image API v2 as served by Glimpse. Errors are rendered as "
            "JSON, HTML or plain text depending on the Accept header, like Glance.",
        },
        "servers": [{"url": "/"}],
        "security": [{"token": []}, {"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": _components(),
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }


def _versions_op(summary: str, code: int) -> dict[str, Any]:
    return {
        "operationId": "versions" if code == 200 else "versions_root",
        "summary": summary,
        "security": [],
        "responses": {
            str(code): {
                "description": REASONS[code],
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Versions"}}
                },
            }
        },
    }


async def document(request: Request) -> Response:
    return JSONResponse(build())


async def docs_page(request: Request) -> Response:
    page = render_page(build())
    policy = content_security_policy(style_src=inline_hashes(page, "style"))
    return HTMLResponse(page, headers={"Content-Security-Policy": policy})


def render_page(doc: dict[str, Any]) -> str:
    """A plain HTML page listing every operation, its parameters and its status codes."""
    rows = []
    for path, methods in doc["paths"].items():
        for method, o in methods.items():
            params = ", ".join(p["name"] for p in o.get("parameters", []))
            codes = ", ".join(o["responses"])
            body = o.get("requestBody", {}).get("content", {})
            rows.append(
                f"<tr><td class=m>{method.upper()}</td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(o['summary'])}</td><td>{html.escape(params)}</td>"
                f"<td>{html.escape(', '.join(body))}</td><td>{codes}</td></tr>"
            )
    schemas_json = html.escape(json.dumps(doc["components"]["schemas"]["Image"], indent=2))
    return _PAGE.format(
        title=html.escape(doc["info"]["title"]), rows="\n".join(rows), image=schemas_json
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: .3rem .5rem; vertical-align: top; text-align: left; }}
td.m {{ font-weight: bold; }}
pre {{ background: #f6f6f6; padding: 1rem; overflow: auto; }}
</style></head>
<body><h1>{title}</h1>
<p>Machine-readable description: <a href="/v2/openapi.json">/v2/openapi.json</a>.
Authenticate with <code>X-Auth-Token</code> or <code>Authorization: Bearer</code>.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>Summary</th><th>Parameters</th>
<th>Body</th><th>Status codes</th></tr></thead><tbody>
{rows}
</tbody></table>
<h2>Image</h2><pre>{image}</pre>
</body></html>
"""
