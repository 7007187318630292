"""Who is calling, from request headers: shared by the REST and GraphQL edges.

Pure: takes a header mapping, returns a :class:`Principal` or raises :class:`Unauthenticated`.
Sources, in order: trusted-proxy headers (only when enabled), ``Authorization: Bearer``, then
``X-Auth-Token``. No credentials at all gives the anonymous principal; operations then refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from glimpse.core.context import Principal
from glimpse.core.errors import Unauthenticated


class Verifier(Protocol):
    async def authenticate(self, token: str) -> Principal: ...


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
