"""One small client interface over both APIs, so a scenario asserts the same outcome twice.

Outcomes are normalised to words: ``ok``, ``forbidden``, ``not_found``, ``unauthenticated``,
``conflict``, ``quota``, ``invalid`` (REST status codes and GraphQL ``extensions.code`` map to
the same words).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx

from glimpse.core.config import Settings
from glimpse.core.context import RequestContext
from glimpse.resolvers import data, images, members
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.images import ImageCreate
from tests.conftest import ctx, token

REST_WORDS = {
    200: "ok",
    201: "ok",
    204: "ok",
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "quota",
    429: "rate_limited",
}
GQL_WORDS = {
    "UNAUTHENTICATED": "unauthenticated",
    "FORBIDDEN": "forbidden",
    "NOT_FOUND": "not_found",
    "CONFLICT": "conflict",
    "QUOTA_EXCEEDED": "quota",
    "PAYLOAD_TOO_LARGE": "quota",
    "INVALID_INPUT": "invalid",
    "RATE_LIMITED": "rate_limited",
}
ADMIN = ctx("admin", "admin", user="root")


@dataclass(frozen=True)
class Persona:
    """A caller as the HTTP APIs see it: a name and the headers it sends."""

    name: str
    project: str | None
    headers: dict[str, str]


def personas(settings: Settings) -> dict[str, Persona]:
    """The persona set of the issue: admin, members and readers of the owning project (P1)
    and another one (P2), image members in each status (P3 pending, P4 accepted, P5
    rejected), no token and a bad token."""

    def bearer(project: str | None, *roles: str, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(settings, project, *roles, user=user)}"}

    spec: list[tuple[str, str | None, tuple[str, ...]]] = [
        ("admin", "admin", ("admin", "member", "reader")),
        ("p1_member", "P1", ("member", "reader")),
        ("p1_reader", "P1", ("reader",)),
        ("p2_member", "P2", ("member", "reader")),
        ("p2_reader", "P2", ("reader",)),
        ("member_pending", "P3", ("member", "reader")),
        ("member_accepted", "P4", ("member", "reader")),
        ("member_rejected", "P5", ("member", "reader")),
    ]
    out = {n: Persona(n, p, bearer(p, *r, user=f"user-{n}")) for n, p, r in spec}
    out["no_token"] = Persona("no_token", None, {})
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    out["bad_token"] = Persona("bad_token", None, {"X-Auth-Token": forged})
    return out


MEMBERS = {"P3": "pending", "P4": "accepted", "P5": "rejected"}


async def make_image(
    deps: Deps,
    *,
    owner: str | None = "P1",
    visibility: str = "shared",
    members_: dict[str, str] | None = None,
    status: str = "queued",
    tags: tuple[str, ...] = ("t",),
    name: str = "img",
) -> str:
    """An image in the given state, made through the resolvers as an admin."""
    values: dict[str, Any] = {
        "name": name,
        "owner": owner,
        "visibility": visibility,
        "disk_format": "raw",
        "container_format": "bare",
        "tags": list(tags),
    }
    rec = await images.create(deps, ADMIN, ImageCreate(values))
    image_id = rec.image.id
    for project, member_status in (members_ or {}).items():
        await members.add_member(deps, ADMIN, image_id, project)
        if member_status != "pending":
            await members.update_member(deps, ADMIN, image_id, project, member_status)
    if status in ("active", "deactivated"):
        await data.upload(deps, ADMIN, image_id, _chunks(b"x" * 1024))
    if status == "deactivated":
        await images.deactivate(deps, ADMIN, image_id)
    return image_id


async def _chunks(payload: bytes) -> AsyncIterator[bytes]:
    yield payload
    await asyncio.sleep(0)


def rest_word(response: httpx.Response) -> str:
    return REST_WORDS.get(response.status_code, f"http_{response.status_code}")


def gql_word(body: dict[str, Any], path: str) -> str:
    """The outcome of one root field: its error code, ``not_found`` for a null image, or ok."""
    errors = body.get("errors") or []
    if errors:
        code = (errors[0].get("extensions") or {}).get("code", "")
        return GQL_WORDS.get(code, f"gql_{code}")
    return "not_found" if (body.get("data") or {}).get(path) is None else "ok"


async def gql(
    http: httpx.AsyncClient, headers: dict[str, str], query: str, **variables: Any
) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def new_id() -> str:
    return str(uuid.uuid4())


def caller(project: str | None, *roles: str) -> RequestContext:
    return ctx(project, *roles)


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Deps]]:
    """An in-process client of an app built from ``settings``, and that app's deps."""
    from glimpse.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://glimpse.test") as c:
            yield c, application.state.deps


@contextlib.asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of an app built from ``settings`` (for non-default auth modes)."""
    async with served(settings) as (client, _deps):
        yield client


def with_auth(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, auth=replace(settings.auth, **changes))


def with_quotas(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, quotas=replace(settings.quotas, **changes))
