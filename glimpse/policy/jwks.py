"""Signing keys from a JWKS URL (an OIDC provider's ``jwks_uri``), cached.

The key set is fetched on first use and kept for ``ttl`` seconds. Once that has run out,
known keys keep verifying tokens at once while one fetch refreshes the set in the
background: a request never waits for a key it already has. A token naming an unknown
``kid`` (the provider rotated its keys) waits for a refresh, but at most ``max_wait``
seconds, and such refreshes happen at most once per ``min_refresh`` seconds: otherwise
anyone could make us hammer the provider by sending tokens with random ``kid`` values.

Every fetch is shared: concurrent requests await the one in flight, never one each under
a lock. When the provider fails, fetches back off exponentially (1 s doubling up to
``backoff_max``) and the known keys stay in service meanwhile; only with no keys at all
does a request fail, with 503 after at most ``max_wait`` seconds.

This is the one place in ``policy`` that does I/O: an outbound fetch of public keys, not part
of any rule decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt

from glimpse.core.errors import ServiceUnavailable, Unauthenticated

log = logging.getLogger(__name__)
Fetch = Callable[[str], Awaitable[dict[str, Any]]]
Keys = dict[str | None, tuple[jwt.PyJWK, str | None]]


async def http_fetch(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
        response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


class JwksKeys:
    """A :class:`~glimpse.policy.tokens.KeySource` backed by a remote JWK set."""

    def __init__(
        self,
        url: str,
        *,
        fetch: Fetch = http_fetch,
        ttl: float = 600,
        min_refresh: float = 10,
        max_wait: float = 2.0,
        backoff_max: float = 300,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url, self._fetch, self._clock = url, fetch, clock
        self._ttl, self._min_refresh, self._max_wait = ttl, min_refresh, max_wait
        self._backoff_max = backoff_max
        self._keys: Keys = {}
        self._fetched_at = float("-inf")
        self._asked_at = float("-inf")  # last refresh asked for by an unknown kid
        self._retry_at = float("-inf")  # no fetch before this (backing off)
        self._failures = 0
        self._inflight: asyncio.Task[None] | None = None
        self.fetches = 0  # fetches that succeeded
        self.attempts = 0  # fetches started

    async def key_for(self, header: dict[str, Any]) -> Any:
        kid = header.get("kid")
        key = self._pick(kid)
        if key is not None:
            if self._clock() - self._fetched_at > self._ttl:
                self._start_fetch()  # stale: refresh in the background, use what we have
            return _checked(key, header)
        if self._may_ask():
            await self._wait_for_fetch()
            key = self._pick(kid)
        if key is not None:
            return _checked(key, header)
        if not self._keys:
            raise ServiceUnavailable("Token signing keys are unavailable: the provider is down")
        raise Unauthenticated(f"Token signing key {kid!r} is not known to this service")

    @property
    def fetching(self) -> bool:
        """Whether a fetch is in flight (requests may have stopped waiting for it)."""
        return self._inflight is not None and not self._inflight.done()

    def cached_key(self, header: dict[str, Any]) -> Any:
        picked = self._pick(header.get("kid"))
        if picked is None or (picked[1] and header.get("alg") != picked[1]):
            return None
        return picked[0].key

    def _pick(self, kid: Any) -> tuple[jwt.PyJWK, str | None] | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid) if isinstance(kid, str) else None

    def _may_ask(self) -> bool:
        """An unknown kid may ask for a refresh: always while nothing usable is cached,
        else at most once per ``min_refresh`` seconds."""
        now = self._clock()
        if not self._keys or now - self._fetched_at > self._ttl:
            return True
        if now - max(self._fetched_at, self._asked_at) < self._min_refresh:
            return False
        self._asked_at = now
        return True

    def _start_fetch(self) -> asyncio.Task[None] | None:
        """The fetch in flight, a new one, or ``None`` while backing off."""
        if self._inflight is not None and not self._inflight.done():
            return self._inflight
        if self._clock() < self._retry_at:
            return None
        self._inflight = asyncio.get_running_loop().create_task(self._refresh())
        return self._inflight

    async def _wait_for_fetch(self) -> None:
        """Wait for a (shared) fetch, at most ``max_wait`` seconds; it goes on after that."""
        task = self._start_fetch()
        if task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), self._max_wait)

    async def _refresh(self) -> None:
        self.attempts += 1
        try:
            body = await self._fetch(self.url)
            keys = _parse(body)
        except Exception as exc:  # any failure of the provider: back off, keep the old keys
            self._failures += 1
            delay = min(self._backoff_max, 2.0 ** (self._failures - 1))
            self._retry_at = self._clock() + delay
            log.warning(
                "fetching signing keys from %s failed (%s); next try in %.0f s",
                self.url,
                type(exc).__name__,
                delay,
            )
            return
        self._keys, self._fetched_at = keys, self._clock()
        self._failures, self._retry_at = 0, float("-inf")
        self.fetches += 1


def _checked(key: tuple[jwt.PyJWK, str | None], header: dict[str, Any]) -> Any:
    jwk, declared = key
    if declared and header.get("alg") != declared:
        raise Unauthenticated("Token algorithm does not match its signing key")
    return jwk.key


def _parse(body: Any) -> Keys:
    """Usable signature keys (and their declared ``alg``) by ``kid``; keys for other uses or
    of unknown types are skipped."""
    if not isinstance(body, dict):
        raise ValueError("a JWK set is a JSON object")
    out: Keys = {}
    for data in body.get("keys", []):
        if not isinstance(data, dict) or data.get("use", "sig") != "sig":
            continue
        if data.get("kty") == "oct":  # symmetric keys never verify tokens here
            continue
        try:
            key = jwt.PyJWK(data)
        except jwt.PyJWTError:
            continue
        declared = data.get("alg")
        out[key.key_id] = (key, declared if isinstance(declared, str) else None)
    return out
