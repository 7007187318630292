"""Glance ``/v2/tasks`` and ``/v2/images/{id}/tasks``: parse, call a resolver, render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from glimpse.core.clock import iso
from glimpse.core.errors import InvalidInput
from glimpse.models.tables import Task
from glimpse.resolvers import tasks
from glimpse.resolvers.tasks import TaskQuery
from glimpse.rest_compat.responses import JSONResponse
from glimpse.rest_compat.wire import absolute, ctx_of, deps_of, read_json


def task_stub(t: Task) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": t.id,
        "type": t.type,
        "status": t.status,
        "owner": t.owner,
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "self": f"/v2/tasks/{t.id}",
        "schema": "/v2/schemas/task",
    }
    if t.expires_at is not None:
        body["expires_at"] = iso(t.expires_at)
    return body


def task_json(t: Task) -> dict[str, Any]:
    body = task_stub(t)
    body.update(
        input=t.input,
        result=t.result,
        message=t.message,
        image_id=t.image_id,
        request_id=t.request_id,
        user_id=t.user_id,
    )
    return body


async def create(request: Request) -> Response:
    deps, ctx = deps_of(request), ctx_of(request)
    task = await tasks.create_legacy_import(deps, ctx, await read_json(request))
    headers = {"Location": absolute(request, f"/v2/tasks/{task.id}")}
    return JSONResponse(task_json(task), status_code=201, headers=headers)


def _query(request: Request) -> TaskQuery:
    p = request.query_params
    try:
        limit = int(p.get("limit", deps_of(request).settings.page_default))
    except ValueError as exc:
        raise InvalidInput("limit must be an integer") from exc
    sort_dir = p.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise InvalidInput(f"Invalid sort direction: {sort_dir}")
    return TaskQuery(
        status=p.get("status"),
        type=p.get("type"),
        marker=p.get("marker"),
        limit=limit,
        sort_key=p.get("sort_key", "created_at"),
        sort_dir="asc" if sort_dir == "asc" else "desc",
    )


async def index(request: Request) -> Response:
    deps, ctx = deps_of(request), ctx_of(request)
    page = await tasks.list_tasks(deps, ctx, _query(request), glance=True)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    first = "/v2/tasks" + (f"?{urlencode(params)}" if params else "")
    body: dict[str, Any] = {
        "tasks": [task_stub(t) for t in page.items],
        "first": first,
        "schema": "/v2/schemas/tasks",
    }
    if page.has_next and page.items:
        body["next"] = "/v2/tasks?" + urlencode([*params, ("marker", page.items[-1].id)])
    return JSONResponse(body)


async def show(request: Request) -> Response:
    task = await tasks.get_task(
        deps_of(request), ctx_of(request), request.path_params["task_id"], glance=True
    )
    return JSONResponse(task_json(task))


async def image_tasks(request: Request) -> Response:
    rows = await tasks.image_tasks(
        deps_of(request), ctx_of(request), request.path_params["image_id"]
    )
    return JSONResponse({"tasks": [task_json(t) for t in rows]})
