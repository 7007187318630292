"""The 16-image visibility matrix (owners admin/P1/P2/none x four visibilities).

List counts per persona and filter are written out from glance-api.md §2.3 and checked
through REST and GraphQL. The scope-agreement test checks, for every persona and image, that
the SQL scope (models.scope.get_scope) and the Python ``get_image`` rule give the same
answer, and that every listed image is also directly visible.
"""

from __future__ import annotations

import itertools

import httpx
import pytest
from sqlmodel import select

from glimpse.core.config import Settings
from glimpse.core.context import Principal
from glimpse.models.scope import clause, get_scope, list_scope
from glimpse.models.tables import Image, ImageMember
from glimpse.policy.rules import Target
from glimpse.resolvers.deps import Deps
from tests.conftest import token
from tests.policy.helpers import gql, make_image

OWNERS = {"A": "admin", "P1": "P1", "P2": "P2", "N": None}
VISIBILITIES = ("public", "private", "shared", "community")
# Shares of the four shared images: image owner key -> {member project: status}.
SHARES = {
    "A": {"P1": "rejected"},
    "P1": {"P2": "accepted"},
    "P2": {"P1": "pending"},
    "N": {"P2": "accepted", "P1": "accepted"},
}
PERSONAS = {
    "admin": ("admin", ("admin", "member", "reader")),
    "p1": ("P1", ("member", "reader")),
    "p1_reader": ("P1", ("reader",)),
    "p2": ("P2", ("member", "reader")),
    "p3": ("P3", ("member", "reader")),
    "no_project": (None, ("member", "reader")),
}
# (visibility filter, member_status filter) -> expected count per persona.
EXPECTED: dict[tuple[str | None, str | None], dict[str, int]] = {
    (None, None): {"admin": 13, "p1": 8, "p1_reader": 8, "p2": 9, "p3": 4, "no_project": 4},
    (None, "pending"): {"admin": 13, "p1": 8, "p1_reader": 8, "p2": 7, "p3": 4, "no_project": 4},
    (None, "all"): {"admin": 13, "p1": 10, "p1_reader": 10, "p2": 9, "p3": 4, "no_project": 4},
    ("public", None): dict.fromkeys(PERSONAS, 4),
    ("community", None): dict.fromkeys(PERSONAS, 4),
    ("private", None): {"admin": 4, "p1": 1, "p1_reader": 1, "p2": 1, "p3": 0, "no_project": 0},
    ("shared", None): {"admin": 4, "p1": 2, "p1_reader": 2, "p2": 3, "p3": 0, "no_project": 0},
    ("shared", "pending"): {"admin": 4, "p1": 2, "p1_reader": 2, "p2": 1, "p3": 0, "no_project": 0},
    ("shared", "rejected"): {
        "admin": 4,
        "p1": 2,
        "p1_reader": 2,
        "p2": 1,
        "p3": 0,
        "no_project": 0,
    },
    ("shared", "all"): {"admin": 4, "p1": 4, "p1_reader": 4, "p2": 3, "p3": 0, "no_project": 0},
    ("all", None): {"admin": 16, "p1": 11, "p1_reader": 11, "p2": 12, "p3": 8, "no_project": 8},
}


async def _catalog(deps: Deps) -> dict[tuple[str, str], str]:
    out = {}
    for (key, owner), vis in itertools.product(OWNERS.items(), VISIBILITIES):
        shares = SHARES[key] if vis == "shared" else None
        out[(key, vis)] = await make_image(
            deps, owner=owner, visibility=vis, members_=shares, name=f"{key}-{vis}"
        )
    return out


def _headers(settings: Settings, persona: str) -> dict[str, str]:
    project, roles = PERSONAS[persona]
    return {"X-Auth-Token": token(settings, project, *roles, user=persona)}


async def _rest_count(
    http: httpx.AsyncClient, headers: dict[str, str], vis: str | None, status: str | None
) -> int:
    params = {"limit": "100"}
    if vis:
        params["visibility"] = vis
    if status:
        params["member_status"] = status
    r = await http.get("/v2/images", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return len(r.json()["images"])


async def _gql_count(
    http: httpx.AsyncClient, headers: dict[str, str], vis: str | None, status: str | None
) -> int:
    parts = []
    if vis:
        parts.append(f"visibility: {vis.upper()}")
    if status:
        parts.append(f"memberStatus: {status.upper()}")
    arg = f", filter: {{{', '.join(parts)}}}" if parts else ""
    body = await gql(http, headers, f"{{ images(first: 100{arg}) {{ nodes {{ id }} }} }}")
    assert not body.get("errors"), body
    return len(body["data"]["images"]["nodes"])


async def test_list_counts_per_persona_and_filter(
    http: httpx.AsyncClient, deps: Deps, settings: Settings
) -> None:
    await _catalog(deps)
    wrong = []
    for (vis, status), counts in EXPECTED.items():
        for persona, want in counts.items():
            h = _headers(settings, persona)
            got = (
                await _rest_count(http, h, vis, status),
                await _gql_count(http, h, vis, status),
            )
            if got != (want, want):
                wrong.append(f"{persona} visibility={vis} member_status={status}: {got} != {want}")
    assert not wrong, "\n".join(wrong)


SCOPE_PERSONAS = [
    Principal("a", "admin", frozenset({"admin", "member", "reader"})),
    Principal("m1", "P1", frozenset({"member", "reader"})),
    Principal("r1", "P1", frozenset({"reader"})),
    Principal("x1", "P1", frozenset()),  # a token with no role at all sees nothing
    Principal("m2", "P2", frozenset({"member", "reader"})),
    Principal("r2", "P2", frozenset({"reader"})),
    Principal("m3", "P3", frozenset({"member", "reader"})),
    Principal("np", None, frozenset({"member", "reader"})),
    Principal("svc", "P1", frozenset({"service"})),
]


@pytest.mark.parametrize("principal", SCOPE_PERSONAS, ids=lambda p: p.user_id)
async def test_sql_scope_agrees_with_get_image_rule(deps: Deps, principal: Principal) -> None:
    catalog = await _catalog(deps)
    # A member row left on an image that later went private must not grant anything.
    private_p2 = catalog[("P2", "private")]
    async with deps.db.begin() as s:
        s.add(ImageMember(image_id=private_p2, member="P1", status="accepted"))
    async with deps.db.read() as s:
        rows = list((await s.exec(select(Image))).all())
        in_scope = set((await s.exec(select(Image.id).where(clause(get_scope(principal))))).all())
        statuses = {
            m.image_id: m.status
            for m in await s.exec(
                select(ImageMember).where(ImageMember.member == principal.project_id)
            )
        }
        listed: set[str] = set()
        for vis, status in itertools.product(
            (None, "public", "private", "shared", "community", "all"),
            ("accepted", "pending", "rejected", "all"),
        ):
            stmt = select(Image.id).where(clause(list_scope(principal, vis, status)))
            listed |= set((await s.exec(stmt)).all())
    disagree = []
    for image in rows:
        target = Target(image.owner, image.visibility, statuses.get(image.id))
        by_rule = deps.policy.allows("get_image", principal, target)
        if by_rule != (image.id in in_scope):
            disagree.append(f"{image.name}: rule {by_rule}, sql {image.id in in_scope}")
    assert not disagree, "\n".join(disagree)
    assert listed <= in_scope, "listed but not directly visible"
