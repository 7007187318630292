"""Keystone (OpenStack Identity v3): validating its tokens as a service, like keystonemiddleware.

:class:`KeystoneSession` holds Glimpse's own credentials: it logs in as the configured service
user (password method, project scope, or system scope for reading limits) and renews that
service token shortly before it expires, or at once when Keystone stops accepting it.

:class:`KeystoneVerifier` implements :class:`~glimpse.policy.identity.Verifier` for the
tokens of users: ``GET /v3/auth/tokens?nocatalog`` with the service token in ``X-Auth-Token``
and the user's in ``X-Subject-Token``. Answers are kept in a bounded LRU cache keyed by a hash
of the token (never the token itself), for at most ``cache_ttl_seconds`` and never past the
token's own expiry: revoking a token at Keystone takes effect here within that TTL, as with
keystonemiddleware's ``token_cache_time``. Refusals are cached the same way, so a flood of
bad tokens costs Keystone one call each. Concurrent requests with the same uncached token
share one validation.

Errors: Keystone refusing the token (404) is :class:`Unauthenticated` (401); Keystone being
unreachable, failing, or refusing our own credentials is :class:`ServiceUnavailable` (503) -
the caller's token may be fine, we could not tell.

Like ``jwks``, this module does outbound I/O to an identity provider; no rule decision here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import httpx

from glimpse.core.config import KeystoneSettings
from glimpse.core.context import Principal
from glimpse.core.errors import ServiceUnavailable, Unauthenticated

log = logging.getLogger(__name__)

# Renew the service token when less than this is left (keystoneauth uses the same margin).
RENEW_MARGIN_SECONDS: Final = 120.0
MAX_TOKEN_LENGTH: Final = 16 * 1024


def identity_url(auth_url: str) -> str:
    """The v3 API root for an ``auth_url`` written either way: ``http://h:5000/v3`` or
    ``http://h:5000`` (an unversioned root, possibly with a path prefix)."""
    base = auth_url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"keystone.auth_url must be an http(s) URL, not {auth_url!r}")
    last = base.rsplit("/", 1)[-1]
    if last == "v3":
        return base
    if last.startswith("v2"):
        raise ValueError("keystone.auth_url names Identity v2, which is gone; use /v3")
    return f"{base}/v3"


def _expiry(value: Any) -> float | None:
    """Seconds since the epoch of a Keystone ``expires_at`` (``...T20:13:57.000000Z``)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


class KeystoneSession:
    """Glimpse's service identity at Keystone, and requests made with it."""

    def __init__(
        self,
        settings: KeystoneSettings,
        *,
        system_scope: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.url = identity_url(settings.auth_url)
        self._system = system_scope
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=self.url, timeout=settings.timeout_seconds, transport=transport
        )
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.logins = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def token(self) -> str:
        """A service token with at least the renewal margin left (logging in if needed)."""
        if self._token is not None and self._expires - self._clock() > self._margin():
            return self._token
        async with self._lock:
            if self._token is None or self._expires - self._clock() <= self._margin():
                await self._login()
            assert self._token is not None
            return self._token

    def _margin(self) -> float:
        return RENEW_MARGIN_SECONDS

    def forget(self, token: str) -> None:
        """Drop ``token`` if it is still the current one (Keystone no longer accepts it)."""
        if self._token == token:
            self._token = None

    async def _login(self) -> None:
        s = self.settings
        scope: dict[str, Any] = (
            {"system": {"all": True}}
            if self._system
            else {"project": {"name": s.project_name, "domain": {"name": s.project_domain_name}}}
        )
        user = {"name": s.username, "domain": {"name": s.user_domain_name}, "password": s.password}
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
        body["auth"]["scope"] = scope
        started = self._clock()
        response = await self._send("POST", "/auth/tokens", json=body, params={"nocatalog": ""})
        if response.status_code != 201 or "X-Subject-Token" not in response.headers:
            log.error("keystone refused the service login of %r: %s", s.username, response.text)
            raise ServiceUnavailable("The identity service refused this service's credentials")
        expires = _expiry(response.json().get("token", {}).get("expires_at"))
        self._token = response.headers["X-Subject-Token"]
        # Unknown expiry: assume a short life rather than trusting the token forever.
        self._expires = expires if expires is not None else started + 2 * RENEW_MARGIN_SECONDS
        self.logins += 1

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``method path`` with the service token; once more with a fresh one on a 401."""
        for attempt in (1, 2):
            token = await self.token()
            headers = {**kwargs.pop("headers", {}), "X-Auth-Token": token}
            response = await self._send(method, path, headers=headers, **kwargs)
            if response.status_code != 401 or attempt == 2:
                return response
            kwargs["headers"] = {k: v for k, v in headers.items() if k != "X-Auth-Token"}
            self.forget(token)
        raise AssertionError("unreachable")

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("identity service unreachable at %s: %s", self.url, exc)
            raise ServiceUnavailable("The identity service cannot be reached") from exc
        if response.status_code >= 500:
            log.warning("identity service failed (%s): %s", response.status_code, response.text)
            raise ServiceUnavailable("The identity service failed to answer")
        return response


@dataclass(frozen=True)
class _Entry:
    deadline: float  # monotonic
    principal: Principal | None
    refusal: str = ""


def principal_from_token(token: dict[str, Any]) -> Principal:
    """The caller a validated Keystone token describes.

    Glance's image policies are all project-scoped and Keystone-era oslo.policy enforces
    scope, so a domain- or system-scoped token may do nothing with images (403). We give such
    a caller no project and no roles, which every rule refuses and the visibility scope
    reduces to public images; unscoped tokens carry no roles anyway.
    """
    user = token.get("user") or {}
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id:
        raise Unauthenticated("The identity service returned a token without a user")
    project = token.get("project")
    roles: frozenset[str] = frozenset()
    project_id = None
    if isinstance(project, dict) and isinstance(project.get("id"), str):
        project_id = project["id"]
        roles = frozenset(
            str(r.get("name", "")).strip().lower()
            for r in token.get("roles") or []
            if isinstance(r, dict) and str(r.get("name", "")).strip()
        )
    issued, expires = _expiry(token.get("issued_at")), _expiry(token.get("expires_at"))
    return Principal(
        user_id=user_id,
        project_id=project_id,
        roles=roles,
        issued_at=int(issued) if issued is not None else None,
        expires_at=int(expires) if expires is not None else None,
    )


class KeystoneVerifier:
    """A :class:`~glimpse.policy.identity.Verifier` for Keystone tokens (see module doc)."""

    def __init__(
        self,
        session: KeystoneSession,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.session = session
        self._ttl = float(session.settings.cache_ttl_seconds)
        self._size = max(1, session.settings.cache_size)
        self._monotonic, self._wall = monotonic, wall
        self._cache: OrderedDict[bytes, _Entry] = OrderedDict()
        self._inflight: dict[bytes, asyncio.Future[_Entry]] = {}
        self._challenge = {"WWW-Authenticate": f'Keystone uri="{session.settings.auth_url}"'}
        self.validations = 0

    async def aclose(self) -> None:
        await self.session.aclose()

    async def authenticate(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
            raise Unauthenticated("Token is malformed", headers=self._challenge)
        key = hashlib.sha256(token.encode()).digest()
        entry = self._cached(key)
        if entry is None:
            entry = await self._shared_validation(key, token)
        if entry.principal is None:
            raise Unauthenticated(entry.refusal, headers=self._challenge)
        return entry.principal

    def _cached(self, key: bytes) -> _Entry | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        if entry.deadline <= self._monotonic():
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return entry

    async def _shared_validation(self, key: bytes, token: str) -> _Entry:
        """One validation per token at a time, in a task of its own: a caller that goes
        away (client disconnect) neither cancels it for the others nor loses its result."""
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._validate_and_store(key, token))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._settled(key, done))
        return await asyncio.shield(task)

    def _settled(self, key: bytes, task: asyncio.Future[_Entry]) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here: callers may all have gone away

    async def _validate_and_store(self, key: bytes, token: str) -> _Entry:
        entry = await self._validate(token)
        self._store(key, entry)
        return entry

    def _store(self, key: bytes, entry: _Entry) -> None:
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)

    async def _validate(self, token: str) -> _Entry:
        self.validations += 1
        response = await self.session.request(
            "GET", "/auth/tokens", params={"nocatalog": ""}, headers={"X-Subject-Token": token}
        )
        now = self._monotonic()
        if response.status_code == 404:
            refusal = "The token is not valid (unknown, expired or revoked)"
            return _Entry(now + self._ttl, None, refusal)
        if response.status_code != 200:
            log.error("keystone answered %s to a token validation", response.status_code)
            raise ServiceUnavailable("The identity service refused to validate the token")
        body = response.json().get("token") or {}
        principal = principal_from_token(body)
        expires = _expiry(body.get("expires_at"))
        remaining = float("inf") if expires is None else expires - self._wall()
        if remaining <= 0:
            return _Entry(now + self._ttl, None, "The token has expired")
        return _Entry(now + min(self._ttl, remaining), principal)
