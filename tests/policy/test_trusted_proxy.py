"""Trusted-proxy mode: identity from keystonemiddleware-style headers, only when enabled."""

from __future__ import annotations

import httpx

from glimpse.core.config import Settings
from tests.conftest import token
from tests.policy.helpers import client_for, gql, with_auth

PROXY = {
    "X-Identity-Status": "Confirmed",
    "X-User-Id": "u-42",
    "X-Project-Id": "P1",
    "X-Roles": "Member, READER",
}
CREATE = 'mutation { createImage(input: {name: "gql"}) { owner } }'


async def test_off_by_default_headers_are_ignored(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    assert not settings.auth.trusted_proxy
    r = await http.get("/v2/images", headers=PROXY)
    assert r.status_code == 401
    body = await gql(http, PROXY, CREATE)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # A real token wins; the forged headers claiming P1 change nothing.
    headers = {**PROXY, "X-Auth-Token": token(settings, "P2", "member", "reader")}
    r = await http.post("/v2/images", json={"name": "x"}, headers=headers)
    assert r.json()["owner"] == "P2"


async def test_on_identity_comes_from_the_proxy(settings: Settings) -> None:
    async with client_for(with_auth(settings, trusted_proxy=True)) as http:
        r = await http.post("/v2/images", json={"name": "rest"}, headers=PROXY)
        assert r.status_code == 201, r.text
        assert r.json()["owner"] == "P1"
        body = await gql(http, PROXY, CREATE)
        assert body["data"]["createImage"]["owner"] == "P1"
        tenant = {**PROXY, "X-Project-Id": "", "X-Tenant-Id": "P7"}
        r = await http.post("/v2/images", json={"name": "t"}, headers=tenant)
        assert r.json()["owner"] == "P7"
        reader = {**PROXY, "X-Roles": "reader"}
        r = await http.post("/v2/images", json={"name": "r"}, headers=reader)
        assert r.status_code == 403  # roles come from X-Roles
        ev = await gql(
            http, PROXY, "{ images(first: 5) { nodes { events { userId projectId } } } }"
        )
        actors = {
            (e["userId"], e["projectId"])
            for n in ev["data"]["images"]["nodes"]
            for e in n["events"]
        }
        assert actors == {("u-42", "P1")}


async def test_on_refusals_and_token_fallback(settings: Settings) -> None:
    async with client_for(with_auth(settings, trusted_proxy=True)) as http:
        invalid = {**PROXY, "X-Identity-Status": "Invalid"}
        assert (await http.get("/v2/images", headers=invalid)).status_code == 401
        no_user = {k: v for k, v in PROXY.items() if k != "X-User-Id"}
        r = await http.get("/v2/images", headers={**no_user, "Accept": "application/json"})
        assert r.status_code == 401
        assert "X-User-Id" in r.json()["message"]
        # Without the status header the token path still works (mixed deployments).
        tok = {"X-Auth-Token": token(settings, "P2", "member", "reader")}
        r = await http.post("/v2/images", json={"name": "tok"}, headers=tok)
        assert r.json()["owner"] == "P2"
        assert (await http.get("/v2/images")).status_code == 401
