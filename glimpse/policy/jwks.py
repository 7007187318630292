"""Signing keys from a JWKS URL (an OIDC provider's ``jwks_uri``), cached.

The key set is fetched on first use and kept for ``ttl`` seconds. A token naming an unknown
``kid`` (the provider rotated its keys) triggers one refresh, but at most once per
``min_refresh`` seconds: otherwise anyone could make us hammer the provider by sending
tokens with random ``kid`` values. Concurrent misses share one fetch. When the provider is
unreachable the cached keys keep working; with no keys at all the request fails with 503.

This is the one place in ``policy`` that does I/O: an outbound fetch of public keys, not part
of any rule decision.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt

from glimpse.core.errors import ServiceUnavailable, Unauthenticated

Fetch = Callable[[str], Awaitable[dict[str, Any]]]


async def http_fetch(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


class JwksKeys:
    """A :class:`~glimpse.policy.tokens.KeySource` backed by a remote JWK set."""

    def __init__(
        self, url: str, *, fetch: Fetch = http_fetch, ttl: float = 600, min_refresh: float = 10
    ) -> None:
        self.url, self._fetch, self._ttl, self._min_refresh = url, fetch, ttl, min_refresh
        self._keys: dict[str | None, tuple[jwt.PyJWK, str | None]] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key_for(self, header: dict[str, Any]) -> Any:
        kid = header.get("kid")
        if time.monotonic() - self._fetched_at > self._ttl:
            await self._refresh(force=False)
        key = self._pick(kid)
        if key is None and await self._refresh(force=True):
            key = self._pick(kid)
        if key is None:
            raise Unauthenticated(f"Token signing key {kid!r} is not known to this service")
        jwk, declared = key
        if declared and header.get("alg") != declared:
            raise Unauthenticated("Token algorithm does not match its signing key")
        return jwk.key

    def cached_key(self, header: dict[str, Any]) -> Any:
        picked = self._pick(header.get("kid"))
        if picked is None or (picked[1] and header.get("alg") != picked[1]):
            return None
        return picked[0].key

    def _pick(self, kid: Any) -> tuple[jwt.PyJWK, str | None] | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid) if isinstance(kid, str) else None

    async def _refresh(self, *, force: bool) -> bool:
        """Fetch the key set; returns whether a fetch happened (and succeeded)."""
        started = time.monotonic()
        async with self._lock:
            if self._fetched_at >= started:  # another request refreshed while we waited
                return True
            if force and started - self._fetched_at < self._min_refresh:
                return False
            try:
                body = await self._fetch(self.url)
                self.fetches += 1
            except (httpx.HTTPError, ValueError) as exc:
                if not self._keys:
                    raise ServiceUnavailable(f"Cannot fetch signing keys: {exc}") from exc
                return False
            self._keys = _parse(body)
            self._fetched_at = time.monotonic()
            return True


def _parse(body: dict[str, Any]) -> dict[str | None, tuple[jwt.PyJWK, str | None]]:
    """Usable signature keys (and their declared ``alg``) by ``kid``; keys for other uses or
    of unknown types are skipped."""
    out: dict[str | None, tuple[jwt.PyJWK, str | None]] = {}
    for data in body.get("keys", []) if isinstance(body, dict) else []:
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
