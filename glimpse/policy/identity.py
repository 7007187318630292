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
    def verify(self, token: str) -> Principal: ...


def identify(headers: Mapping[str, str], verifier: Verifier, *, trusted_proxy: bool) -> Principal:
    """The principal named by ``headers`` (keys compared case-insensitively)."""
    h = {k.lower(): v for k, v in headers.items()}
    if trusted_proxy and h.get("x-identity-status", "").lower() == "confirmed":
        return _from_proxy(h)
    auth = h.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization header must be 'Bearer <token>'")
        return verifier.verify(token.strip())
    token = h.get("x-auth-token", "").strip()
    if token:
        return verifier.verify(token)
    return Principal.anonymous()


def _from_proxy(h: Mapping[str, str]) -> Principal:
    project = h.get("x-project-id") or h.get("x-tenant-id") or None
    roles = frozenset(r.strip().lower() for r in h.get("x-roles", "").split(",") if r.strip())
    user = h.get("x-user-id") or None
    if user is None:
        raise Unauthenticated("Trusted proxy did not identify the user (X-User-Id)")
    return Principal(user_id=user, project_id=project, roles=roles)
