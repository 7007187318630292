"""Who is calling, from request headers: shared by the REST and GraphQL edges.

Pure: takes a header mapping, returns a :class:`Principal` or raises :class:`Unauthenticated`.
Sources, in order: trusted-proxy headers (only when enabled), ``Authorization: Bearer``, then
``X-Auth-Token``. No credentials at all gives the anonymous principal; operations then refuse.

Which verifier checks a token: Glimpse's own JWTs always go to the JWT verifier; with
``keystone.auth_url`` set, any other token (a Keystone fernet or JWS token) is validated with
Keystone (:class:`TokenRouter`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import jwt

from glimpse.core.context import Principal
from glimpse.core.errors import Unauthenticated


class Verifier(Protocol):
    async def authenticate(self, token: str) -> Principal: ...


class TokenRouter:
    """Sends each token to the verifier that can judge it: ``is_ours(token)`` decides between
    Glimpse's JWT verifier and Keystone. The choice reads unverified fields only to route;
    the chosen verifier checks everything, and a token of ours it refuses stays refused."""

    def __init__(self, ours: Verifier, keystone: Verifier, is_ours: Callable[[str], bool]) -> None:
        self.ours, self.keystone, self._is_ours = ours, keystone, is_ours

    async def authenticate(self, token: str) -> Principal:
        if self._is_ours(token):
            return await self.ours.authenticate(token)
        return await self.keystone.authenticate(token)

    async def aclose(self) -> None:
        closer = getattr(self.keystone, "aclose", None)
        if closer is not None:
            await closer()


def issued_by(issuer: str, algorithms: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a token is a JWT Glimpse's verifier should judge: signed with one of our
    algorithms and naming our issuer (any issuer when none is configured). Keystone's fernet
    tokens are not JWTs at all; its JWS tokens carry no ``iss``."""

    def check(token: str) -> bool:
        try:
            header = jwt.get_unverified_header(token)
            claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        if header.get("alg") not in algorithms:
            return False
        return not issuer or claims.get("iss") == issuer

    return check


async def identify(
    headers: Mapping[str, str], verifier: Verifier, *, trusted_proxy: bool
) -> Principal:
    """The principal named by ``headers`` (keys compared case-insensitively).

    With ``trusted_proxy`` off, identity headers are ignored entirely (a client could set
    them); with it on, ``Confirmed`` is trusted, ``Invalid`` (keystonemiddleware's delayed
    auth decision on a bad token) is a 401, and no status falls through to the token headers.
    """
    h = {k.lower(): v for k, v in headers.items()}
    status = h.get("x-identity-status", "").strip().lower() if trusted_proxy else ""
    if status == "confirmed":
        return _from_proxy(h)
    if status == "invalid":
        raise Unauthenticated("The authenticating proxy refused the credentials")
    auth = h.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization header must be 'Bearer <token>'")
        return await verifier.authenticate(token.strip())
    token = h.get("x-auth-token", "").strip()
    if token:
        return await verifier.authenticate(token)
    return Principal.anonymous()


def _from_proxy(h: Mapping[str, str]) -> Principal:
    project = h.get("x-project-id") or h.get("x-tenant-id") or None
    roles = frozenset(r.strip().lower() for r in h.get("x-roles", "").split(",") if r.strip())
    user = h.get("x-user-id") or None
    if user is None:
        raise Unauthenticated("Trusted proxy did not identify the user (X-User-Id)")
    return Principal(user_id=user, project_id=project, roles=roles)
