"""Operators re-point single rules; both APIs (and federation lookups) follow the override."""

from __future__ import annotations

import pytest

from glimpse.core.config import Settings
from glimpse.core.context import Principal
from glimpse.core.errors import InvalidInput
from glimpse.policy.rules import Policy, Target
from tests.conftest import token
from tests.policy.helpers import gql, make_image, served, with_auth

ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Image { id } } }"""


async def test_narrowed_get_image_applies_to_rest_graphql_and_entities(
    settings: Settings,
) -> None:
    narrowed = with_auth(settings, policy_overrides={"get_image": "admin or owner_reader"})
    async with served(narrowed) as (http, deps):
        public = await make_image(deps, owner="P1", visibility="public")
        outsider = {"X-Auth-Token": token(narrowed, "P2", "member", "reader")}
        owner = {"X-Auth-Token": token(narrowed, "P1", "reader")}
        assert (await http.get(f"/v2/images/{public}", headers=outsider)).status_code == 404
        q = "query($id: ID!) { image(id: $id) { id } }"
        assert (await gql(http, outsider, q, id=public))["data"]["image"] is None
        reps = [{"__typename": "Image", "id": public}]
        body = await gql(http, outsider, ENTITIES, r=reps)
        assert body["data"]["_entities"] == [None]
        assert (await http.get(f"/v2/images/{public}", headers=owner)).status_code == 200
        assert (await gql(http, owner, q, id=public))["data"]["image"] == {"id": public}
        body = await gql(http, owner, ENTITIES, r=reps)
        assert body["data"]["_entities"] == [{"id": public}]


async def test_widened_publicize_lets_members_publish(settings: Settings) -> None:
    widened = with_auth(settings, policy_overrides={"publicize_image": "admin or owner_member"})
    async with served(widened) as (http, _deps):
        member = {"X-Auth-Token": token(widened, "P1", "member", "reader")}
        r = await http.post("/v2/images", json={"visibility": "public"}, headers=member)
        assert r.status_code == 201
    async with served(settings) as (http, _deps):
        member = {"X-Auth-Token": token(settings, "P1", "member", "reader")}
        r = await http.post("/v2/images", json={"visibility": "public"}, headers=member)
        assert r.status_code == 403


def test_unknown_checks_fail_at_start_and_unknown_actions_are_denied() -> None:
    with pytest.raises(InvalidInput):
        Policy("glance", {"get_image": "admin or everybody"})
    with pytest.raises(InvalidInput):
        Policy("lenient")
    admin = Principal("a", "admin", frozenset({"admin"}))
    assert not Policy().allows("format_disks", admin)


def test_admin_only_profile() -> None:
    policy = Policy("admin-only")
    member = Principal("m", "P1", frozenset({"member", "reader"}))
    own = Target(owner="P1", visibility="private")
    for action in ("add_image", "modify_image", "delete_image", "upload_image", "add_member"):
        assert not policy.allows(action, member, own), action
    assert policy.allows("get_image", member, own)
    assert policy.allows("download_image", member, own)
    assert policy.allows("modify_image", Principal("a", "x", frozenset({"admin"})), own)
