"""Verified tokens remembered until they expire, so a client's every request does not pay for
signature verification again.

A bearer token is sent with every request; verifying it (HMAC or RSA, claims, key lookup) cost
more than serving a cached image read. The cache maps the exact token string to the principal
it proved, for no longer than the token's own expiry (plus the verifier's leeway, which the
verifier itself would have granted) and at most ``max_age`` seconds, so that a signing key
withdrawn from a JWKS stops being honoured soon after. Only successes are kept; the cache is
bounded (oldest entries go first). Revocation of local-account tokens is checked on every
request by the caller (glimpse.resolvers.accounts), not here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from glimpse.core.context import Principal
from glimpse.policy.identity import Verifier


class CachingVerifier:
    """A :class:`~glimpse.policy.identity.Verifier` that remembers what ``inner`` verified."""

    def __init__(
        self,
        inner: Verifier,
        *,
        size: int = 10_000,
        max_age: float = 300.0,
        leeway: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inner, self.size, self.max_age, self.leeway = inner, size, max_age, leeway
        self._clock = clock
        self._entries: dict[str, tuple[Principal, float]] = {}

    async def authenticate(self, token: str) -> Principal:
        now = self._clock()
        hit = self._entries.get(token)
        if hit is not None:
            if now < hit[1]:
                return hit[0]
            del self._entries[token]
        principal = await self.inner.authenticate(token)
        self._remember(token, principal, now)
        return principal

    def _remember(self, token: str, principal: Principal, now: float) -> None:
        until = now + self.max_age
        if principal.expires_at is not None:
            until = min(until, principal.expires_at + self.leeway)
        if until <= now:
            return
        while len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]
        self._entries[token] = (principal, until)

    def forget(self) -> None:
        """Drop every remembered token (a signing key or secret changed)."""
        self._entries.clear()
