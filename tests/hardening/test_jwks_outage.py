"""Finding 8: while the identity provider's JWKS endpoint is down, requests keep being
served with the keys already known, the provider is asked once (then with back-off), and
no request waits for it longer than ``jwks_max_wait_seconds``.

The provider is a real HTTP server on loopback that the tests stop, make answer 503, or
replace by a socket that accepts connections and never answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest

from glimpse.core.config import Settings
from glimpse.policy.jwks import JwksKeys
from glimpse.policy.tokens import TokenVerifier
from tests.policy.test_tokens import KEY_TYPES, claims


class Provider:
    """A JWKS endpoint on 127.0.0.1 that can be taken down (503) or stopped."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.down = False
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                if outer.down:
                    self.send_error(503)
                    return
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
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.running = True

    def publish(self, kid: str, private: Any) -> None:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
        self.keys = [{**jwk, "kid": kid, "alg": "RS256", "use": "sig"}]

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.httpd.shutdown()
            self.httpd.server_close()


class BlackHole:
    """Accepts TCP connections and never answers: a provider that hangs."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/jwks.json"
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def stop(self) -> None:
        self.stopping.set()
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    yield p
    p.stop()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    b = BlackHole()
    yield b
    b.stop()


def _external(settings: Settings, url: str, *, ttl: float) -> Settings:
    auth = replace(settings.auth, jwks_url=url, jwks_ttl_seconds=ttl, jwks_max_wait_seconds=0.5)
    return replace(settings, auth=auth)


def _bearer(settings: Settings, private: Any, kid: str) -> dict[str, str]:
    token = jwt.encode(claims(settings), private, "RS256", headers={"kid": kid})
    return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def _served(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, JwksKeys]]:
    """An in-process client of the app, and the app's JWKS key cache."""
    from glimpse.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://glimpse.test") as c:
            verifier = app.state.verifier
            while not hasattr(verifier, "keys"):  # behind the verified-token cache(s)
                verifier = verifier.inner
            keys = verifier.keys
            assert isinstance(keys, JwksKeys)
            yield c, keys


GQL = {"query": "{ images(first: 1) { nodes { id } } }"}


async def _statuses(
    http: httpx.AsyncClient, bearer: Callable[[], dict[str, str]], n: int
) -> list[int]:
    """n REST and n GraphQL requests at once, each with a token of its own (a token already
    verified would be answered from the verified-token cache without asking for keys);
    REST statuses, GraphQL codes as 200/401/503."""

    async def rest() -> int:
        return (await http.get("/v2/images", headers=bearer())).status_code

    async def graphql() -> int:
        body = (await http.post("/graphql", json=GQL, headers=bearer())).json()
        code = (body.get("errors") or [{}])[0].get("extensions", {}).get("code")
        return {None: 200, "UNAUTHENTICATED": 401, "SERVICE_UNAVAILABLE": 503}[code]

    return list(await asyncio.gather(*[rest() for _ in range(n)], *[graphql() for _ in range(n)]))


async def test_known_keys_keep_working_while_the_provider_is_gone(
    settings: Settings, provider: Provider
) -> None:
    k1 = KEY_TYPES["RS256"]()
    provider.publish("k1", k1)
    ext = _external(settings, provider.url, ttl=0)  # every use finds the cache expired
    async with _served(ext) as (http, keys):

        def h() -> dict[str, str]:
            return _bearer(ext, k1, "k1")

        assert await _statuses(http, h, 1) == [200, 200]
        provider.stop()
        assert await _statuses(http, h, 20) == [200] * 40
        # one failed refresh, then back-off: not one fetch (or one wait) per request
        await _settled(keys)
        assert keys.fetches >= 1
        assert keys.attempts <= keys.fetches + 1
        stranger = KEY_TYPES["RS256"]()
        assert await _statuses(http, lambda: _bearer(ext, stranger, "k-new"), 5) == [401] * 10
        assert keys.attempts <= keys.fetches + 1


async def _settled(keys: JwksKeys) -> None:
    """Wait until no fetch is in flight (the background refresh ended)."""
    for _ in range(500):
        if not keys.fetching:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the background fetch did not end")


async def test_a_hanging_provider_delays_no_request_beyond_the_bound(
    settings: Settings, black_hole: BlackHole
) -> None:
    ext = _external(settings, black_hole.url, ttl=600)
    async with _served(ext) as (http, keys):
        key = KEY_TYPES["RS256"]()
        assert await _statuses(http, lambda: _bearer(ext, key, "k1"), 10) == [503] * 20
        # all twenty waited for one shared fetch, which is still hanging: they gave up
        # after the bounded wait instead of waiting for it
        assert keys.attempts == 1
        assert keys.fetching
        assert len(black_hole.accepted) == 1


async def test_back_off_then_recovery(provider: Provider) -> None:
    """With a clock of our own: failures back off exponentially; known keys serve all
    along; once the provider answers again, rotated keys are picked up."""
    now = [0.0]
    k1, k2 = KEY_TYPES["RS256"](), KEY_TYPES["RS256"]()
    provider.publish("k1", k1)
    keys = JwksKeys(provider.url, ttl=10, min_refresh=0, max_wait=1, clock=lambda: now[0])
    settings = Settings()
    verifier = TokenVerifier(_external(settings, provider.url, ttl=10), keys=keys)
    token = jwt.encode(claims(settings), k1, "RS256", headers={"kid": "k1"})
    await verifier.authenticate(token)
    assert (provider.requests, keys.fetches) == (1, 1)
    provider.down = True
    now[0] = 11  # expired
    for _ in range(5):
        await verifier.authenticate(token)  # served from the cache at once
    await _settled(keys)
    assert provider.requests == 2  # one refresh, failed: back off 1 s
    now[0] = 11.5
    await verifier.authenticate(token)
    await _settled(keys)
    assert provider.requests == 2
    now[0] = 12.1
    await verifier.authenticate(token)
    await _settled(keys)
    assert provider.requests == 3  # failed again: back off 2 s
    now[0] = 13
    await verifier.authenticate(token)
    await _settled(keys)
    assert provider.requests == 3
    provider.down = False
    provider.publish("k2", k2)
    now[0] = 14.2
    rotated = jwt.encode(claims(settings), k2, "RS256", headers={"kid": "k2"})
    assert (await verifier.authenticate(rotated)).user_id == "mallory"
    assert provider.requests == 4
