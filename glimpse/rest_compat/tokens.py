"""``POST /v2/tokens``: a local account's name and password in, a bearer token out.

Not part of Glance (Keystone issues its tokens); reachable without a token, and answering
403 when an external identity provider is configured.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from glimpse.core.clock import iso
from glimpse.core.errors import InvalidInput
from glimpse.resolvers import accounts
from glimpse.rest_compat.responses import JSONResponse
from glimpse.rest_compat.wire import deps_of, read_json


async def issue(request: Request) -> Response:
    body = await read_json(request)
    name, password = body.get("name"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        raise InvalidInput('Body must be {"name": <string>, "password": <string>}')
    client = request.client.host if request.client else None
    issued = await accounts.login(deps_of(request), name, password, client=client)
    body = {
        "token": issued.token,
        "expires_at": iso(issued.expires_at),
        "user": issued.user,
        "project": issued.project,
        "roles": list(issued.roles),
    }
    headers = {"X-Subject-Token": issued.token, "Cache-Control": "no-store"}
    return JSONResponse(body, headers=headers)
