"""Token attacks and key sources: every refusal is a 401 in REST and UNAUTHENTICATED in
GraphQL, with the same message that says what was wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from glimpse.cli import main as cli_main
from glimpse.core.config import Settings
from glimpse.core.errors import InvalidInput, Unauthenticated
from glimpse.policy.jwks import JwksKeys
from glimpse.policy.tokens import (
    TokenVerifier,
    load_or_create_secret,
    mint_token,
    token_claims,
)
from glimpse.resolvers.deps import Deps
from tests.policy.helpers import client_for, gql, make_image, with_auth

JSON = {"Accept": "application/json"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A JWT assembled by hand, for headers and signatures no library would produce."""
    head = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{head}.{b64(sign(head.encode()))}"


def claims(settings: Settings, **changes: Any) -> dict[str, Any]:
    c = token_claims(settings, user="mallory", project="P1", roles=["member", "reader"])
    for key, value in changes.items():
        if value is None:
            c.pop(key, None)
        else:
            c[key] = value
    return c


async def outcome(http: httpx.AsyncClient, headers: dict[str, str]) -> tuple[int, str, str, str]:
    """(REST status, REST message, GraphQL code, GraphQL message) for one credential."""
    r = await http.get("/v2/images", headers={**headers, **JSON})
    message = r.json().get("message", "").split("<br")[0] if r.status_code != 200 else ""
    body = await gql(http, headers, "{ images(first: 1) { nodes { id } } }")
    err = (body.get("errors") or [{}])[0]
    return r.status_code, message, err.get("extensions", {}).get("code", ""), err.get("message", "")


async def assert_refused(http: httpx.AsyncClient, tok: str, fragment: str) -> None:
    status, message, code, gmessage = await outcome(http, {"Authorization": f"Bearer {tok}"})
    assert (status, code) == (401, "UNAUTHENTICATED"), (status, message, code, gmessage)
    assert fragment in message, message
    assert message == gmessage


def _hs(settings: Settings, **changes: Any) -> str:
    return jwt.encode(claims(settings, **changes), load_or_create_secret(settings), "HS256")


def _rsa_token(settings: Settings, **changes: Any) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims(settings, **changes), key, "RS256")


def _none(settings: Settings, alg: str = "none") -> str:
    return forge({"alg": alg, "typ": "JWT"}, claims(settings), lambda _: b"")


HS_ATTACKS: dict[str, tuple[Callable[[Settings], str], str]] = {
    "expired": (lambda s: _hs(s, exp=int(time.time()) - 120), "expired"),
    "not_yet_valid": (lambda s: _hs(s, nbf=int(time.time()) + 600), "not valid yet"),
    "missing_exp": (lambda s: _hs(s, exp=None), "missing the 'exp' claim"),
    "missing_sub": (lambda s: _hs(s, sub=None), "missing the 'sub' claim"),
    "missing_aud": (lambda s: _hs(s, aud=None), "missing the 'aud' claim"),
    "missing_iss": (lambda s: _hs(s, iss=None), "missing the 'iss' claim"),
    "wrong_issuer": (lambda s: _hs(s, iss="evil"), "issuer is not trusted"),
    "wrong_audience": (lambda s: _hs(s, aud="other-service"), "audience is not accepted"),
    "roles_not_a_list": (lambda s: _hs(s, roles="admin"), "'roles' must be a list"),
    "empty_sub": (lambda s: _hs(s, sub=" "), "'sub' claim must be a non-empty string"),
    "wrong_secret": (
        lambda s: jwt.encode(claims(s), b"x" * 64, "HS256"),
        "signature is invalid",
    ),
    "alg_none": (_none, "alg 'none'"),
    "alg_None": (lambda s: _none(s, "None"), "alg 'none'"),
    "rs256_in_embedded_mode": (_rsa_token, "algorithm 'RS256' is not accepted"),
    "garbage": (lambda s: "not.a.token", "malformed"),
    # a signed link with the plain audience (as an empty audience setting used to allow)
    "signed_link": (lambda s: _hs(s, tgt="some-image"), "signed link is not a bearer token"),
    "tampered_payload": (
        lambda s: ".".join(
            [_hs(s).split(".")[0], b64(json.dumps(claims(s, roles=["admin"])).encode()), "AAAA"]
        ),
        "signature is invalid",
    ),
}


@pytest.mark.parametrize("attack", list(HS_ATTACKS))
async def test_embedded_mode_refuses(
    attack: str, http: httpx.AsyncClient, settings: Settings
) -> None:
    make, fragment = HS_ATTACKS[attack]
    await assert_refused(http, make(settings), fragment)


async def test_expiry_within_leeway_is_accepted(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    tok = _hs(settings, exp=int(time.time()) - 5)
    status, *_ = await outcome(http, {"X-Auth-Token": tok})
    assert status == 200


async def test_wrong_scheme_and_missing_token(http: httpx.AsyncClient) -> None:
    status, message, code, _ = await outcome(http, {"Authorization": "Basic dXNlcjpwdw=="})
    assert (status, code) == (401, "UNAUTHENTICATED")
    assert "Bearer" in message
    r = await http.get("/v2/images", headers=JSON)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_cli_token_without_project(
    http: httpx.AsyncClient, deps: Deps, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """``glimpse token --project ''`` mints a no-project token: it sees public images only."""
    public = await make_image(deps, owner="P1", visibility="public")
    await make_image(deps, owner="P1", visibility="shared")
    await make_image(deps, owner=None, visibility="private")
    argv = ["token", "--data-dir", str(settings.data_dir), "--user", "bob", "--project", ""]
    assert cli_main([*argv, "--roles", "member,reader"]) == 0
    tok = capsys.readouterr().out.strip()
    principal = await TokenVerifier(settings).authenticate(tok)
    assert (principal.user_id, principal.project_id) == ("bob", None)
    r = await http.get("/v2/images", headers={"X-Auth-Token": tok})
    assert [i["id"] for i in r.json()["images"]] == [public]
    r = await http.post("/v2/images", json={"name": "x"}, headers={"X-Auth-Token": tok})
    assert r.status_code == 403  # no project: nothing to own an image


# ---------------------------------------------------------------------------- PEM keys


def _pem(private: Any) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


KEY_TYPES = {
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
}


@pytest.mark.parametrize("alg", list(KEY_TYPES))
async def test_public_key_file(alg: str, settings: Settings, tmp_path: Path) -> None:
    private = KEY_TYPES[alg]()
    (tmp_path / "issuer.pem").write_bytes(_pem(private))
    ext = with_auth(settings, public_key_file=str(tmp_path / "issuer.pem"))
    good = jwt.encode(claims(ext), private, alg)
    other = jwt.encode(claims(ext), KEY_TYPES[alg](), alg)
    confused = forge(
        {"alg": "HS256", "typ": "JWT"},
        claims(ext, roles=["admin"]),
        lambda msg: hmac.new(_pem(private), msg, hashlib.sha256).digest(),
    )
    async with client_for(ext) as http:
        assert (await outcome(http, {"Authorization": f"Bearer {good}"}))[0] == 200
        await assert_refused(http, other, "signature is invalid")
        await assert_refused(http, confused, "algorithm 'HS256' is not accepted")
        await assert_refused(http, _none(ext), "alg 'none'")
        await assert_refused(http, _hs(settings), "algorithm 'HS256' is not accepted")
        await assert_refused(
            http, jwt.encode(claims(ext, exp=int(time.time()) - 300), private, alg), "expired"
        )
        r = await http.post("/v2/tokens", json={"name": "a", "password": "b" * 8})
        assert r.status_code == 403  # local login is off with an external issuer
    with pytest.raises(InvalidInput):
        mint_token(ext, user="x", project="P1", roles=[])


def test_bad_public_key_file_fails_at_start(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "k.pem").write_text("not a key")
    with pytest.raises(InvalidInput):
        TokenVerifier(with_auth(settings, public_key_file=str(tmp_path / "k.pem")))


# ---------------------------------------------------------------------------- JWKS


class JwksServer:
    """A tiny JWKS endpoint on 127.0.0.1 whose key set the test can rotate."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def publish(self, *keys: tuple[str, Any]) -> None:
        out = []
        for kid, private in keys:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
            out.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        out.append({"kty": "oct", "kid": "sym", "k": b64(b"s" * 32)})  # must be ignored
        self.keys = out


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join()


def _signed(settings: Settings, private: Any, kid: str) -> str:
    return jwt.encode(claims(settings), private, "RS256", headers={"kid": kid})


async def test_jwks_through_the_api(jwks: JwksServer, settings: Settings) -> None:
    k1 = KEY_TYPES["RS256"]()
    jwks.publish(("k1", k1))
    ext = with_auth(settings, jwks_url=jwks.url)
    async with client_for(ext) as http:
        assert (await outcome(http, {"X-Auth-Token": _signed(ext, k1, "k1")}))[0] == 200
        await assert_refused(http, _signed(ext, KEY_TYPES["RS256"](), "k9"), "'k9' is not known")
        sym = jwt.encode(claims(ext), b"s" * 32, "HS256", headers={"kid": "sym"})
        await assert_refused(http, sym, "algorithm 'HS256' is not accepted")
        await assert_refused(http, _signed(ext, KEY_TYPES["RS256"](), "k1"), "signature")


async def test_jwks_rotation_refreshes_on_unknown_kid(jwks: JwksServer, settings: Settings) -> None:
    k1, k2 = KEY_TYPES["RS256"](), KEY_TYPES["RS256"]()
    jwks.publish(("k1", k1))
    ext = with_auth(settings, jwks_url=jwks.url)
    verifier = TokenVerifier(ext, keys=JwksKeys(jwks.url, min_refresh=0))
    assert (await verifier.authenticate(_signed(ext, k1, "k1"))).user_id == "mallory"
    assert jwks.requests == 1
    jwks.publish(("k2", k2))  # the provider rotated: k1 is gone
    assert (await verifier.authenticate(_signed(ext, k2, "k2"))).project_id == "P1"
    assert jwks.requests == 2
    await verifier.authenticate(_signed(ext, k2, "k2"))
    assert jwks.requests == 2  # cached
    with pytest.raises(Unauthenticated, match="'k1' is not known"):
        await verifier.authenticate(_signed(ext, k1, "k1"))


async def test_unknown_kids_cannot_hammer_the_provider(
    jwks: JwksServer, settings: Settings
) -> None:
    k1 = KEY_TYPES["RS256"]()
    jwks.publish(("k1", k1))
    ext = with_auth(settings, jwks_url=jwks.url)
    verifier = TokenVerifier(ext, keys=JwksKeys(jwks.url, min_refresh=60))
    await verifier.authenticate(_signed(ext, k1, "k1"))
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            await verifier.authenticate(_signed(ext, k1, uuid.uuid4().hex))
    assert jwks.requests == 1
