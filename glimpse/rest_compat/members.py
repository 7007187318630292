"""``/v2/images/{id}/members[/{member}]``: image sharing in Glance's wire format.

The owner adds projects (200, not 201), the member project answers with a status; every rule
(shared images only, who may see or change what) lives in glimpse.resolvers.members.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from glimpse.core.clock import iso
from glimpse.models.tables import ImageMember
from glimpse.resolvers import members
from glimpse.rest_compat.responses import JSONResponse
from glimpse.rest_compat.wire import ctx_of, deps_of, read_json


def member_json(row: ImageMember) -> dict[str, Any]:
    return {
        "image_id": row.image_id,
        "member_id": row.member,
        "status": row.status,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "schema": "/v2/schemas/member",
    }


async def index(request: Request) -> Response:
    rows = await members.list_members(
        deps_of(request), ctx_of(request), request.path_params["image_id"]
    )
    return JSONResponse(
        {"members": [member_json(r) for r in rows], "schema": "/v2/schemas/members"}
    )


async def show(request: Request) -> Response:
    p = request.path_params
    row = await members.get_member(deps_of(request), ctx_of(request), p["image_id"], p["member_id"])
    return JSONResponse(member_json(row))


async def create(request: Request) -> Response:
    body = await read_json(request)
    # The resolver refuses a missing, empty or non-string member (400).
    row = await members.add_member(
        deps_of(request), ctx_of(request), request.path_params["image_id"], body.get("member")
    )
    return JSONResponse(member_json(row))


async def update(request: Request) -> Response:
    body = await read_json(request)
    p = request.path_params
    # A missing or unknown status is the resolver's 400.
    row = await members.update_member(
        deps_of(request), ctx_of(request), p["image_id"], p["member_id"], body.get("status")
    )
    return JSONResponse(member_json(row))


async def delete(request: Request) -> Response:
    p = request.path_params
    await members.remove_member(deps_of(request), ctx_of(request), p["image_id"], p["member_id"])
    return Response(status_code=204)
