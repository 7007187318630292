"""Signed download links: what the console uses instead of buffering images in the page."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt

from glimpse.core.config import Settings
from glimpse.core.context import Principal
from glimpse.policy.links import mint_link_token
from tests.conftest import token

LINK = "mutation($id: ID!) { createDownloadLink(id: $id) { url expiresAt } }"


async def _gql(http: httpx.AsyncClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    r = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {tok}"},
    )
    body: dict[str, Any] = r.json()
    return body


async def _image_with_data(http: httpx.AsyncClient, tok: str, data: bytes | None) -> str:
    body = await _gql(
        http,
        tok,
        'mutation { createImage(input: {name: "disk one", diskFormat: "raw",'
        ' containerFormat: "bare"}) { id } }',
    )
    image_id: str = body["data"]["createImage"]["id"]
    if data is not None:
        r = await http.put(
            f"/v2/images/{image_id}/file",
            content=data,
            headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 204
    return image_id


async def test_link_downloads_without_header(http: httpx.AsyncClient, settings: Settings) -> None:
    tok = token(settings, "P1")
    image_id = await _image_with_data(http, tok, b"0123456789" * 1000)
    link = (await _gql(http, tok, LINK, id=image_id))["data"]["createDownloadLink"]
    assert link["url"].startswith(f"/ui/download/{image_id}?sig=")
    r = await http.get(link["url"])
    assert r.status_code == 200
    assert r.content == b"0123456789" * 1000
    assert r.headers["content-disposition"] == 'attachment; filename="disk_one.raw"'
    assert r.headers["cache-control"] == "no-store"


async def test_link_is_not_an_api_token(http: httpx.AsyncClient, settings: Settings) -> None:
    tok = token(settings, "P1")
    image_id = await _image_with_data(http, tok, b"abc")
    other_id = await _image_with_data(http, tok, b"def")
    sig = (await _gql(http, tok, LINK, id=image_id))["data"]["createDownloadLink"]["url"].split(
        "sig="
    )[1]
    as_bearer = await http.get("/v2/images", headers={"Authorization": f"Bearer {sig}"})
    assert as_bearer.status_code == 401
    elsewhere = await http.get(f"/ui/download/{other_id}?sig={sig}")
    assert elsewhere.status_code == 401
    unsigned = await http.get(f"/ui/download/{image_id}")
    assert unsigned.status_code == 401


async def test_expired_link_is_refused(http: httpx.AsyncClient, settings: Settings) -> None:
    tok = token(settings, "P1")
    image_id = await _image_with_data(http, tok, b"abc")
    principal = Principal(user_id="u-P1", project_id="P1", roles=frozenset({"member", "reader"}))
    sig, _ = mint_link_token(
        settings, principal, action="download_image", target=image_id, now=time.time() - 3600
    )
    r = await http.get(f"/ui/download/{image_id}?sig={sig}", headers={"Accept": "application/json"})
    assert r.status_code == 401
    assert "expired" in r.text


async def test_link_needs_what_a_download_needs(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    tok = token(settings, "P1")
    queued = await _image_with_data(http, tok, None)
    body = await _gql(http, tok, LINK, id=queued)
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    image_id = await _image_with_data(http, tok, b"abc")
    stranger = await _gql(http, token(settings, "P2"), LINK, id=image_id)
    assert stranger["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_link_works_once(http: httpx.AsyncClient, settings: Settings) -> None:
    """Finding 11: a link was replayable for its whole life (a copied URL, a proxy log)."""
    tok = token(settings, "P1")
    image_id = await _image_with_data(http, tok, b"abc")
    url = (await _gql(http, tok, LINK, id=image_id))["data"]["createDownloadLink"]["url"]
    assert (await http.get(url)).content == b"abc"
    again = await http.get(url, headers={"Accept": "application/json"})
    assert again.status_code == 401
    assert "already used" in again.text


async def test_link_dies_with_the_account_that_made_it(app: Any, http: httpx.AsyncClient) -> None:
    """A link minted with a login token is revoked with that token (account removed)."""
    from glimpse.resolvers import accounts

    deps = app.state.deps
    await accounts.add_user(deps, "carol", "correct horse", project="P1", roles=["member"])
    login = await http.post("/v2/tokens", json={"name": "carol", "password": "correct horse"})
    tok = login.json()["token"]
    image_id = await _image_with_data(http, tok, b"abc")
    url = (await _gql(http, tok, LINK, id=image_id))["data"]["createDownloadLink"]["url"]
    await accounts.remove_user(deps, "carol")
    r = await http.get(url, headers={"Accept": "application/json"})
    assert r.status_code == 401
    assert "revoked" in r.text


async def test_link_never_outlives_its_token(http: httpx.AsyncClient, settings: Settings) -> None:
    from glimpse.policy.tokens import mint_token

    short = mint_token(settings, user="u", project="P1", roles=["member", "reader"], ttl=20)
    image_id = await _image_with_data(http, short, b"abc")
    link = (await _gql(http, short, LINK, id=image_id))["data"]["createDownloadLink"]
    sig = link["url"].split("sig=")[1]
    link_exp = jwt.decode(sig, options={"verify_signature": False})["exp"]
    token_exp = jwt.decode(short, options={"verify_signature": False})["exp"]
    assert link_exp == token_exp  # 20 s, not the link's usual minute
