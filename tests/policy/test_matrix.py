"""Persona x action: every image operation through REST and GraphQL, same outcome from each.

The target image belongs to P1 and is shared with P3 (pending), P4 (accepted) and P5
(rejected) when its visibility is ``shared``. Each persona acts on a fresh image per API, so
one persona's successful delete cannot change what the next one sees. Expected outcomes are
written from Glance's secure-RBAC defaults (glance-api.md §2.3, §4.2), not derived from our
rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from glimpse.resolvers.deps import Deps
from glimpse.rest_compat.routes import ROUTES
from tests.policy.helpers import MEMBERS, Persona, gql, gql_word, make_image, personas, rest_word

MEMBER_PERSONAS = {"member_pending": "P3", "member_accepted": "P4", "member_rejected": "P5"}
OWNER_WRITERS = {"admin", "p1_member"}
NO_CALLER = {"no_token", "bad_token"}


def sees(persona: str, vis: str) -> bool:
    """Direct GET visibility (§2.3): members see a shared image in any member status."""
    if persona in ("admin", "p1_member", "p1_reader") or vis in ("public", "community"):
        return True
    return vis == "shared" and persona in MEMBER_PERSONAS


def owner_write(persona: str, vis: str) -> str:
    if persona in NO_CALLER:
        return "unauthenticated"
    if not sees(persona, vis):
        return "not_found"
    return "ok" if persona in OWNER_WRITERS else "forbidden"


def expect_get(persona: str, vis: str) -> str:
    if persona in NO_CALLER:
        return "unauthenticated"
    return "ok" if sees(persona, vis) else "not_found"


def expect_listed(persona: str, vis: str) -> str:
    """Default list: public, own, and shared where the caller's membership is accepted."""
    if persona in NO_CALLER:
        return "unauthenticated"
    listed = (
        persona in ("p1_member", "p1_reader")
        or (persona == "admin" and vis != "community")  # others' community: only on request
        or vis == "public"
        or (vis == "shared" and persona == "member_accepted")
    )
    return "listed" if listed else "unlisted"


def expect_download(persona: str, vis: str) -> str:
    """download_image needs the member role: readers see but may not download (403)."""
    base = expect_get(persona, vis)
    if base != "ok":
        return base
    return "forbidden" if persona in ("p1_reader", "p2_reader") else "ok"


def expect_members(persona: str, vis: str) -> str | frozenset[str]:
    """Member ids a caller may read; REST 403 (non-shared image) shows as none at all."""
    base = expect_get(persona, vis)
    if base != "ok":
        return base
    if vis != "shared":
        return frozenset()
    if persona in ("admin", "p1_member", "p1_reader"):
        return frozenset(MEMBERS)
    return frozenset({MEMBER_PERSONAS[persona]})


def expect_add_member(persona: str, vis: str) -> str:
    outcome = owner_write(persona, vis)
    return "forbidden" if outcome == "ok" and vis != "shared" else outcome


def expect_update_member(persona: str, vis: str) -> str:
    """P3's pending record: only P3 (or an admin) may answer; others who cannot see the
    record get 404, the owner gets 403."""
    base = expect_get(persona, vis)
    if base != "ok":
        return base
    if persona in ("admin", "member_pending"):
        return "ok"
    return "forbidden" if persona in ("p1_member", "p1_reader") else "not_found"


def expect_remove_member(persona: str, vis: str) -> str:
    base = expect_get(persona, vis)
    if base != "ok":
        return base
    if persona in OWNER_WRITERS:
        return "ok"
    return "forbidden" if persona in ("p1_reader", "member_pending") else "not_found"


Call = Callable[[httpx.AsyncClient, dict[str, str], str, "Cast"], Awaitable[Any]]
# Project ids behind the names the expectations use (P1 owns, P3-P5 are image members, P9 is
# added): themselves for our own tokens, Keystone's generated ids in tests/keystone.
Cast = Mapping[str, str]
PLAIN_CAST: Cast = {name: name for name in ("P1", "P2", "P3", "P4", "P5", "P9")}


def _cast(text: str, cast: Cast) -> str:
    """``text`` with each ``{Pn}`` placeholder replaced by that project's id."""
    for name, project in cast.items():
        text = text.replace(f"{{{name}}}", project)
    return text


def _named(cast: Cast, ids: Any) -> frozenset[str]:
    names = {v: k for k, v in cast.items()}
    return frozenset(names.get(i, i) for i in ids)


@dataclass(frozen=True)
class Op:
    rest: Call
    graphql: Call | None
    expect: Callable[[str, str], Any]
    status: str = "queued"
    visibilities: tuple[str, ...] = ("shared", "public", "private", "community")
    rest_route: str = ""


async def _listed_rest(http: httpx.AsyncClient, h: dict[str, str], i: str, c: Cast) -> str:
    r = await http.get("/v2/images", headers=h)
    if r.status_code != 200:
        return rest_word(r)
    return "listed" if i in {x["id"] for x in r.json()["images"]} else "unlisted"


async def _listed_gql(http: httpx.AsyncClient, h: dict[str, str], i: str, c: Cast) -> str:
    body = await gql(http, h, "{ images(first: 100) { nodes { id } } }")
    word = gql_word(body, "images")
    if word != "ok":
        return word
    return "listed" if i in {n["id"] for n in body["data"]["images"]["nodes"]} else "unlisted"


async def _members_rest(http: httpx.AsyncClient, h: dict[str, str], i: str, c: Cast) -> Any:
    r = await http.get(f"/v2/images/{i}/members", headers=h)
    if r.status_code == 403:
        return frozenset()
    if r.status_code != 200:
        return rest_word(r)
    return _named(c, (m["member_id"] for m in r.json()["members"]))


async def _members_gql(http: httpx.AsyncClient, h: dict[str, str], i: str, c: Cast) -> Any:
    body = await gql(http, h, "query($id: ID!) { image(id: $id) { members { memberId } } }", id=i)
    word = gql_word(body, "image")
    if word != "ok":
        return word
    return _named(c, (m["memberId"] for m in body["data"]["image"]["members"]))


def _mutation(field: str, args: str, selection: str = "") -> Call:
    query = f"mutation($id: ID!) {{ {field}(id: $id{args}) {selection} }}"

    async def run(http: httpx.AsyncClient, h: dict[str, str], i: str, c: Cast) -> str:
        return gql_word(await gql(http, h, _cast(query, c), id=i), field)

    return run


def _rest(method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Call:
    async def run(http: httpx.AsyncClient, h: dict[str, str], i: str, c: Cast) -> str:
        sent, body = dict(kwargs), kwargs.get("json")
        if isinstance(body, dict):
            sent["json"] = {k: _cast(v, c) for k, v in body.items()}
        r = await http.request(
            method, _cast(path.replace("{id}", i), c), headers={**h, **(headers or {})}, **sent
        )
        return rest_word(r)

    return run


async def _get_gql(http: httpx.AsyncClient, h: dict[str, str], i: str, c: Cast) -> str:
    return gql_word(await gql(http, h, "query($id: ID!) { image(id: $id) { id } }", id=i), "image")


PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OPS: dict[str, Op] = {
    "get": Op(
        _rest("GET", "/v2/images/{id}"),
        _get_gql,
        expect_get,
    ),
    "list": Op(_listed_rest, _listed_gql, expect_listed),
    "update": Op(
        _rest(
            "PATCH",
            "/v2/images/{id}",
            json=[{"op": "replace", "path": "/name", "value": "x"}],
            headers=PATCH,
        ),
        _mutation("updateImage", ', input: {name: "x"}', "{ id }"),
        owner_write,
    ),
    "delete": Op(
        _rest("DELETE", "/v2/images/{id}"),
        _mutation("deleteImage", "", "{ deleted }"),
        owner_write,
    ),
    "add_tag": Op(
        _rest("PUT", "/v2/images/{id}/tags/new"),
        _mutation("addImageTag", ', tag: "new"', "{ id }"),
        owner_write,
    ),
    "remove_tag": Op(
        _rest("DELETE", "/v2/images/{id}/tags/t"),
        _mutation("removeImageTag", ', tag: "t"', "{ id }"),
        owner_write,
    ),
    "deactivate": Op(
        _rest("POST", "/v2/images/{id}/actions/deactivate"),
        _mutation("pauseImage", "", "{ id }"),
        owner_write,
        status="active",
    ),
    "reactivate": Op(
        _rest("POST", "/v2/images/{id}/actions/reactivate"),
        _mutation("unpauseImage", "", "{ id }"),
        owner_write,
        status="deactivated",
    ),
    "upload": Op(
        _rest(
            "PUT",
            "/v2/images/{id}/file",
            content=b"data",
            headers={"Content-Type": "application/octet-stream"},
        ),
        None,  # GraphQL uploads through the same REST endpoint (Image.links.file)
        owner_write,
    ),
    "download": Op(_rest("GET", "/v2/images/{id}/file"), None, expect_download, status="active"),
    "list_members": Op(
        _members_rest,
        _members_gql,
        expect_members,
        rest_route="/v2/images/{image_id}/members",
    ),
    "add_member": Op(
        _rest("POST", "/v2/images/{id}/members", json={"member": "{P9}"}),
        _mutation("addImageMember", ', member: "{P9}"', "{ memberId }"),
        expect_add_member,
        visibilities=("shared", "private", "public"),
        rest_route="/v2/images/{image_id}/members",
    ),
    "update_member": Op(
        _rest("PUT", "/v2/images/{id}/members/{P3}", json={"status": "accepted"}),
        _mutation("updateImageMember", ', member: "{P3}", status: ACCEPTED', "{ status }"),
        expect_update_member,
        visibilities=("shared",),
        rest_route="/v2/images/{image_id}/members/{member_id}",
    ),
    "remove_member": Op(
        _rest("DELETE", "/v2/images/{id}/members/{P3}"),
        _mutation("removeImageMember", ', member: "{P3}"'),
        expect_remove_member,
        visibilities=("shared",),
        rest_route="/v2/images/{image_id}/members/{member_id}",
    ),
}

CASES = [(name, vis) for name, op in OPS.items() for vis in op.visibilities]


@pytest.mark.parametrize(("op_name", "vis"), CASES)
async def test_same_outcome_in_both_apis(
    op_name: str, vis: str, http: httpx.AsyncClient, deps: Deps, settings: Settings
) -> None:
    op = OPS[op_name]
    rest_enabled = not op.rest_route or op.rest_route in ROUTES
    if not rest_enabled and op.graphql is None:
        pytest.skip(f"{op.rest_route} is not routed")
    await check_matrix(op, vis, personas(settings).values(), deps, http, PLAIN_CAST, rest_enabled)


async def check_matrix(
    op: Op,
    vis: str,
    callers: Iterable[Persona],
    deps: Deps,
    http: httpx.AsyncClient,
    cast: Cast,
    rest: bool = True,
) -> None:
    """Every persona's outcome of ``op`` on a ``vis`` image equals the expected one."""
    mismatches = []
    for persona in callers:
        want = op.expect(persona.name, vis)
        got = await _run_both(op, persona, vis, deps, http, rest, cast)
        if any(v != want for v in got.values()):
            mismatches.append(f"{persona.name}: want {want}, got {got}")
    assert not mismatches, "\n".join(mismatches)


async def _run_both(
    op: Op, persona: Persona, vis: str, deps: Deps, http: httpx.AsyncClient, rest: bool, c: Cast
) -> dict[str, Any]:
    got: dict[str, Any] = {}
    members_ = {c[p]: status for p, status in MEMBERS.items()} if vis == "shared" else None
    kinds = [("rest", op.rest)] if rest else []
    kinds += [("graphql", op.graphql)] if op.graphql is not None else []
    for kind, call in kinds:
        image_id = await make_image(
            deps, owner=c["P1"], visibility=vis, members_=members_, status=op.status
        )
        got[kind] = await call(http, persona.headers, image_id, c)
    return got
