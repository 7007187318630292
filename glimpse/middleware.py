"""ASGI middleware shared by every surface: request ids and caller identity.

Kept as plain ASGI (not BaseHTTPMiddleware) so streaming bodies pass through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from glimpse.core.context import Principal, RequestContext, new_request_id
from glimpse.core.errors import GlimpseError, Unauthenticated
from glimpse.policy.identity import Verifier, identify

_VALID_RID = re.compile(r"^req-[0-9a-fA-F-]{36}$")
_VERSIONED = re.compile(r"^/v2\.(\d+)(/.*)?$")
_ANY_VERSION = re.compile(r"^/v\d+(\.\d+)?(/|$)")
_VERSION_MEDIA = "application/vnd.openstack.images-v2"
# The request headers this middleware reads (identity, request id, version negotiation).
_READ = frozenset(
    {
        b"x-openstack-request-id",
        b"authorization",
        b"x-auth-token",
        b"x-identity-status",
        b"x-user-id",
        b"x-project-id",
        b"x-tenant-id",
        b"x-roles",
        b"accept",
    }
)


def _headers(scope: Scope) -> dict[str, str]:
    """The headers of :data:`_READ` present in the request (first occurrence wins), read in
    one pass over the raw list instead of building a full header map per request."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        if name in _READ:
            key = name.decode("latin-1")
            if key not in found:
                found[key] = value.decode("latin-1")
    return found


class RequestContextMiddleware:
    """Sets ``scope['glimpse.ctx']`` and answers with ``x-openstack-request-id``.

    A bad credential does not fail here: the REST dispatcher answers 401, GraphQL reports
    UNAUTHENTICATED on the fields that need a caller (so GraphiQL and introspection load).
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: Verifier,
        *,
        trusted_proxy: bool,
        minor_versions: int | Collection[int],
        account_check: Callable[[Principal], Awaitable[bool]] | None = None,
    ) -> None:
        self.app, self.verifier, self.trusted_proxy = app, verifier, trusted_proxy
        self.account_check = account_check
        # A count (2.0 .. 2.N-1) or the advertised minor numbers, which may have gaps.
        self.minors = frozenset(
            range(minor_versions) if isinstance(minor_versions, int) else minor_versions
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        found = _headers(scope)
        incoming = found.get("x-openstack-request-id", "")
        rid = incoming if _VALID_RID.match(incoming) else new_request_id()
        principal, error = await self._identify(found)
        scope["glimpse.ctx"] = RequestContext(principal=principal, request_id=rid)
        scope["glimpse.auth_error"] = error
        scope["glimpse.request_id"] = rid
        self._strip_minor_version(scope, found.get("accept", ""))
        rid_header = (b"x-openstack-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), rid_header]
            await send(message)

        await self.app(scope, receive, send_with_id)

    async def _identify(self, headers: Mapping[str, str]) -> tuple[Principal, GlimpseError | None]:
        try:
            principal = await identify(headers, self.verifier, trusted_proxy=self.trusted_proxy)
        except GlimpseError as exc:
            return Principal.anonymous(), exc
        if self.account_check is not None and not await self.account_check(principal):
            revoked = Unauthenticated(
                "Token revoked: the account was removed or its password changed; sign in again"
            )
            return Principal.anonymous(), revoked
        return principal, None

    def _strip_minor_version(self, scope: Scope, accept: str) -> None:
        """Glance's version negotiation: ``/v2.N/...`` is ``/v2/...`` for every advertised N;
        any other version prefix (``/v1``, ``/v3``, ``/v2.99``) answers the versions document
        (300, served by ``/``); ``Accept: application/vnd.openstack.images-v2`` selects v2 for
        an unprefixed path."""
        path = scope.get("path", "")
        m = _VERSIONED.match(path)
        if m and int(m.group(1)) in self.minors:
            self._set_path(scope, "/v2", len(path) - len(m.group(2) or ""))
        elif _ANY_VERSION.match(path) and not (path == "/v2" or path.startswith("/v2/")):
            scope["path"], scope["raw_path"] = "/", b"/"
        elif path.startswith("/images") and _VERSION_MEDIA in accept:
            self._set_path(scope, "/v2", 0)

    @staticmethod
    def _set_path(scope: Scope, prefix: str, cut: int) -> None:
        """Replace the first ``cut`` characters of the path by ``prefix`` (in raw_path too:
        the prefix is ASCII, so the raw and decoded lengths agree)."""
        raw = scope.get("raw_path") or scope["path"].encode()
        scope["path"] = prefix + scope["path"][cut:]
        scope["raw_path"] = prefix.encode() + raw[cut:]
