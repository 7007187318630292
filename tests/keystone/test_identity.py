"""Keystone tokens validated against a real Keystone: scopes, refusals, outages, the cache,
service-token renewal and unified limits."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace

import httpx
import pytest

from glimpse.core.config import Settings
from glimpse.core.errors import ServiceUnavailable, Unauthenticated
from glimpse.policy.keystone import KeystoneSession, KeystoneVerifier, identity_url
from glimpse.resolvers.limits import KeystoneLimits
from tests.conftest import free_port, token
from tests.keystone import provision, server
from tests.keystone.conftest import keystone_settings
from tests.keystone.server import Keystone
from tests.policy.helpers import gql, served

JSON = {"Accept": "application/json"}


def auth(tok: str) -> dict[str, str]:
    return {"X-Auth-Token": tok, **JSON}


class Clock:
    """A clock the test moves by hand (``now`` starts at the real time)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def verifier(ks: Keystone, **changes: object) -> tuple[KeystoneVerifier, Clock, Clock]:
    mono, wall = Clock(time.monotonic()), Clock(time.time())
    session = KeystoneSession(keystone_settings(ks, **changes), clock=wall)
    return KeystoneVerifier(session, monotonic=mono, wall=wall), mono, wall


@pytest.mark.parametrize(
    ("written", "api"),
    [
        ("http://h:5000/v3", "http://h:5000/v3"),
        ("http://h:5000/v3/", "http://h:5000/v3"),
        ("http://h:5000", "http://h:5000/v3"),
        ("https://h/identity/", "https://h/identity/v3"),
    ],
)
def test_auth_url_written_either_way(written: str, api: str) -> None:
    assert identity_url(written) == api


@pytest.mark.parametrize("bad", ["h:5000/v3", "http://h:5000/v2.0", "ftp://h/v3"])
def test_auth_url_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="auth_url"):
        identity_url(bad)


async def test_roles_and_project_come_from_the_token(
    http: httpx.AsyncClient, keystone: Keystone, ks_tokens: dict[str, str]
) -> None:
    alpha = keystone.ids["project:alpha"]
    r = await http.post("/v2/images", json={"name": "ks"}, headers=auth(ks_tokens["p1_member"]))
    assert r.status_code == 201, r.text
    assert r.json()["owner"] == alpha
    r = await http.post("/v2/images", json={"name": "no"}, headers=auth(ks_tokens["p1_reader"]))
    assert r.status_code == 403
    r = await http.get("/v2/images", headers=auth(ks_tokens["p1_reader"]))
    assert [i["name"] for i in r.json()["images"]] == ["ks"]
    r = await http.get("/v2/images", headers=auth(ks_tokens["p2_member"]))
    assert r.json()["images"] == []
    body = await gql(
        http, {"X-Auth-Token": ks_tokens["p1_member"]}, "{ images { nodes { owner } } }"
    )
    assert body["data"]["images"]["nodes"] == [{"owner": alpha}]


async def test_unversioned_auth_url_works(
    settings: Settings, keystone: Keystone, ks_tokens: dict[str, str]
) -> None:
    unversioned = replace(settings, keystone=keystone_settings(keystone, auth_url=keystone.base))
    async with served(unversioned) as (client, _deps):
        r = await client.get("/v2/images", headers=auth(ks_tokens["p2_member"]))
    assert r.status_code == 200, r.text


async def test_refused_token_is_401_with_a_keystone_challenge(
    http: httpx.AsyncClient, keystone: Keystone
) -> None:
    r = await http.get("/v2/images", headers=auth("gAAAAAB" + uuid.uuid4().hex * 3))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.url}"'
    assert "not valid" in r.json()["message"]
    body = await gql(http, {"X-Auth-Token": "garbage\x01"}, "{ images { nodes { id } } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_own_tokens_still_work_beside_keystone(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    r = await http.post("/v2/images", json={"name": "jwt"}, headers=auth(token(settings, "P1")))
    assert r.status_code == 201
    assert r.json()["owner"] == "P1"


async def test_unreachable_keystone_is_503(settings: Settings, keystone: Keystone) -> None:
    gone = keystone_settings(keystone, auth_url=f"http://127.0.0.1:{free_port()}/v3")
    async with served(replace(settings, keystone=gone)) as (client, _deps):
        r = await client.get("/v2/images", headers=auth("gAAAAAB" + "x" * 100))
        assert r.status_code == 503, r.text
        body = await gql(client, {"X-Auth-Token": "gAAAAABy"}, "{ images { nodes { id } } }")
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


async def test_wrong_service_password_is_503(keystone: Keystone) -> None:
    v, _mono, _wall = verifier(keystone, password="not-the-password")
    try:
        with pytest.raises(ServiceUnavailable, match="credentials"):
            await v.authenticate(keystone.admin_token)
    finally:
        await v.aclose()


async def test_domain_and_system_scoped_tokens_may_not_use_images(
    http: httpx.AsyncClient, keystone: Keystone
) -> None:
    """Glance's image policies are project-scoped: other scopes are refused (403)."""
    with keystone.client() as c:
        rid = provision.ensure_role(c, "admin")
        uid = (
            keystone.ids.get("user:admin")
            or c.get("/users", params={"name": "admin"}).json()["users"][0]["id"]
        )
        c.put(f"/domains/default/users/{uid}/roles/{rid}").raise_for_status()
    scoped = {
        "domain": keystone.password_token("admin", server.ADMIN_PASSWORD, domain="default"),
        "system": keystone.password_token("admin", server.ADMIN_PASSWORD, system=True),
    }
    for kind, tok in scoped.items():
        listed = await http.get("/v2/images", headers=auth(tok))
        created = await http.post("/v2/images", json={"name": kind}, headers=auth(tok))
        assert (listed.status_code, created.status_code) == (403, 403), kind


async def test_cache_answers_repeats_and_shares_concurrent_validations(
    keystone: Keystone, ks_tokens: dict[str, str]
) -> None:
    v, _mono, _wall = verifier(keystone)
    try:
        first = await v.authenticate(ks_tokens["p1_member"])
        assert first.project_id == keystone.ids["project:alpha"]
        assert first.roles == {"member", "reader"}
        assert await v.authenticate(ks_tokens["p1_member"]) == first
        assert v.validations == 1
        same = await asyncio.gather(*(v.authenticate(ks_tokens["p2_reader"]) for _ in range(5)))
        assert {p.user_id for p in same} == {keystone.ids["user:rob"]}
        assert v.validations == 2
        assert v.session.logins == 1
    finally:
        await v.aclose()


async def test_cache_is_bounded(keystone: Keystone, ks_tokens: dict[str, str]) -> None:
    v, _mono, _wall = verifier(keystone, cache_size=2)
    try:
        for persona in ("p1_member", "p2_member", "p1_reader", "p1_member"):
            await v.authenticate(ks_tokens[persona])
        assert v.validations == 4  # the first was evicted by the third
    finally:
        await v.aclose()


async def test_revocation_applies_within_the_cache_ttl(keystone: Keystone) -> None:
    v, mono, _wall = verifier(keystone, cache_ttl_seconds=30)
    fresh = keystone.password_token("bob", project="beta")
    try:
        assert (await v.authenticate(fresh)).project_id == keystone.ids["project:beta"]
        with keystone.client() as c:
            c.delete("/auth/tokens", headers={"X-Subject-Token": fresh}).raise_for_status()
        await v.authenticate(fresh)  # still cached: keystonemiddleware behaves the same
        mono.now += 31
        with pytest.raises(Unauthenticated, match="not valid"):
            await v.authenticate(fresh)
        mono.now += 1
        with pytest.raises(Unauthenticated):  # the refusal is cached too
            await v.authenticate(fresh)
        assert v.validations == 2
    finally:
        await v.aclose()


async def test_cache_never_outlives_the_token(
    keystone: Keystone, ks_tokens: dict[str, str]
) -> None:
    """A token 10 s from expiry is cached 10 s, not the whole TTL."""
    v, mono, wall = verifier(keystone, cache_ttl_seconds=3600)
    try:
        await v.authenticate(ks_tokens["p2_member"])
        expires = await _expires_at(keystone, ks_tokens["p2_member"])
        wall.now = expires - 10  # Keystone still says valid, but only for 10 more seconds
        v._cache.clear()
        await v.authenticate(ks_tokens["p2_member"])
        mono.now += 11
        await v.authenticate(ks_tokens["p2_member"])
        assert v.validations == 3
    finally:
        await v.aclose()


async def _expires_at(ks: Keystone, tok: str) -> float:
    from datetime import datetime

    with ks.client() as c:
        body = c.get("/auth/tokens", headers={"X-Subject-Token": tok}).json()
    return datetime.fromisoformat(body["token"]["expires_at"]).timestamp()


async def test_service_token_is_renewed_before_expiry_and_when_revoked(
    keystone: Keystone, ks_tokens: dict[str, str]
) -> None:
    v, _mono, wall = verifier(keystone, cache_ttl_seconds=0)
    try:
        await v.authenticate(ks_tokens["p1_member"])
        service_token = await v.session.token()
        expires = await _expires_at(keystone, service_token)
        wall.now = expires - 60  # inside the renewal margin
        await v.authenticate(ks_tokens["p1_member"])
        assert v.session.logins == 2
        wall.now = time.time()
        assert await v.session.token() != service_token
        # A service token Keystone no longer accepts (revoked, keys rotated): one 401, a new
        # login, the validation retried. (Keystone may briefly keep accepting a token it just
        # revoked as X-Auth-Token, so an unknown token stands in for a revoked one.)
        v.session._token = "gAAAAAB" + uuid.uuid4().hex * 3
        assert (await v.authenticate(ks_tokens["p1_member"])).user_id == keystone.ids["user:alice"]
        assert v.session.logins == 3
    finally:
        await v.aclose()


@pytest.fixture(scope="module")
def image_limits(keystone: Keystone) -> Keystone:
    """Registered defaults for every project, and project limits for beta and gamma."""
    for resource, value in {
        "image_count_total": 5,
        "image_size_total": 1000,
        "image_stage_total": 1000,
        "image_count_uploading": 2,
    }.items():
        provision.set_limit(keystone, None, resource, value)
    provision.set_limit(keystone, "beta", "image_count_total", 1)
    provision.set_limit(keystone, "gamma", "image_count_total", 7)
    return keystone


async def test_unified_limits_come_from_keystone(
    settings: Settings, image_limits: Keystone, ks_tokens: dict[str, str]
) -> None:
    keystone = image_limits
    with_limits = replace(settings, keystone=keystone_settings(keystone, limits=True))
    async with served(with_limits) as (client, _deps):
        bob = auth(ks_tokens["p2_member"])
        assert (await client.post("/v2/images", json={"name": "a"}, headers=bob)).status_code == 201
        second = await client.post("/v2/images", json={"name": "b"}, headers=bob)
        assert second.status_code == 413, second.text
        usage = (await client.get("/v2/info/usage", headers=bob)).json()["usage"]
        assert usage["image_count_total"] == {"limit": 1, "usage": 1}
        assert usage["image_size_total"]["limit"] == 1000
        assert usage["image_count_uploading"]["limit"] == 2
        alice = auth(ks_tokens["p1_member"])
        for name in "abc":
            r = await client.post("/v2/images", json={"name": name}, headers=alice)
            assert r.status_code == 201, r.text


async def test_limits_refresh_in_the_background(image_limits: Keystone) -> None:
    """Past the TTL the last known limits answer at once while Keystone is asked again."""
    ks = image_limits
    clock = Clock(time.monotonic())
    session = KeystoneSession(keystone_settings(ks), system_scope=True)
    limits = KeystoneLimits(session, ttl=60, clock=clock)
    gamma = ks.ids["project:gamma"]
    try:
        assert (await limits.project_limits(gamma)).image_count_total == 7
        with ks.client() as c:
            found = c.get("/limits", params={"project_id": gamma}).json()["limits"]
            r = c.patch(f"/limits/{found[0]['id']}", json={"limit": {"resource_limit": 9}})
            r.raise_for_status()
        assert (await limits.project_limits(gamma)).image_count_total == 7  # still fresh
        clock.now += 61
        assert (await limits.project_limits(gamma)).image_count_total == 7  # stale, refreshing
        deadline = time.monotonic() + 10
        while (await limits.project_limits(gamma)).image_count_total != 9:
            assert time.monotonic() < deadline, "the background refresh never landed"
            await asyncio.sleep(0.02)
    finally:
        await limits.aclose()


async def test_a_caller_going_away_does_not_cancel_the_shared_validation(
    keystone: Keystone, ks_tokens: dict[str, str]
) -> None:
    v, _mono, _wall = verifier(keystone)
    try:
        first = asyncio.create_task(v.authenticate(ks_tokens["member_pending"]))
        second = asyncio.create_task(v.authenticate(ks_tokens["member_pending"]))
        await asyncio.sleep(0)  # both are waiting on the one validation now
        first.cancel()
        principal = await second
        assert principal.project_id == keystone.ids["project:gamma"]
        assert first.cancelled()
        assert v.validations == 1
    finally:
        await v.aclose()
