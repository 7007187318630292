"""``POST /v2/images/{id}/actions`` (and the older ``/action``): one action per body.

``{"pause": null}`` / ``{"unpause": null}`` -> 200 with the image; ``{"copy": target}`` ->
202 ``{"task_id", "image_id"}``; ``{"resize": size}`` -> 202 ``{"task_id"}``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from glimpse.core.errors import InvalidInput
from glimpse.resolvers import actions, images
from glimpse.rest_compat.render import image_json
from glimpse.rest_compat.responses import JSONResponse
from glimpse.rest_compat.wire import ctx_of, deps_of, read_json

KNOWN = ("pause", "unpause", "copy", "resize")


async def perform(request: Request) -> Response:
    deps, ctx = deps_of(request), ctx_of(request)
    image_id = request.path_params["image_id"]
    body = await read_json(request)
    if len(body) != 1 or next(iter(body)) not in KNOWN:
        raise InvalidInput(f"The body must name exactly one action of: {', '.join(KNOWN)}")
    action, arg = next(iter(body.items()))
    if action in ("pause", "unpause"):
        if arg is not None:
            raise InvalidInput(f"{action} takes no argument (null)")
        op = images.deactivate if action == "pause" else images.reactivate
        rec = await op(deps, ctx, image_id)
        return JSONResponse(image_json(rec, deps.settings))
    if action == "copy":
        task_id, new_id = await actions.copy(deps, ctx, image_id, arg)
        return JSONResponse({"task_id": task_id, "image_id": new_id}, status_code=202)
    task_id = await actions.resize(deps, ctx, image_id, arg)
    return JSONResponse({"task_id": task_id}, status_code=202)
