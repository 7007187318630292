"""Short-lived, single-use signed links: a capability for one action on one target, in a URL.

A browser cannot put an ``Authorization`` header on a plain ``<a href>`` download, and
buffering a multi-GiB image in page memory to attach the header is not an option. So the
console asks for a link: a JWT signed with the service secret that names the caller, the
action and the image. Its audience is ``<audience>#<action>`` and it carries a target, so
the bearer-token verifier refuses it: a leaked link grants that one download, never API
access.

A link never outlives what it was minted with, and it works once:

- it expires after a minute, or when the credential that minted it expires, whichever
  comes first;
- a link minted with a login token carries that account (``acct``), so removing the
  account or changing its password revokes the link like the token;
- its id (``jti``) is recorded when it is redeemed (glimpse.resolvers.links): a copied
  URL, a proxy log or a browser history entry replayed later gets a 401.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from glimpse.core.config import Settings
from glimpse.core.context import Principal
from glimpse.core.errors import Unauthenticated
from glimpse.policy.tokens import load_or_create_secret, principal_from_claims, token_claims

LINK_TTL_SECONDS = 60


@dataclass(frozen=True)
class LinkGrant:
    """What a valid link grants: the caller, and the id and expiry to redeem it once."""

    principal: Principal
    jti: str
    expires_at: int


def _audience(settings: Settings, action: str) -> str:
    return f"{settings.auth.audience}#{action}"


def mint_link_token(
    settings: Settings,
    principal: Principal,
    *,
    action: str,
    target: str,
    ttl: int = LINK_TTL_SECONDS,
    now: float | None = None,
) -> tuple[str, int]:
    """Sign ``(principal, action, target)``; returns the token and its expiry (epoch s)."""
    claims = token_claims(
        settings,
        user=principal.user_id or "",
        project=principal.project_id,
        roles=list(principal.roles),
        ttl=ttl,
        now=now,
    )
    if principal.expires_at is not None:
        claims["exp"] = min(int(claims["exp"]), principal.expires_at)
    if principal.account is not None:
        claims["acct"] = "local"
    claims.update(aud=_audience(settings, action), tgt=target)
    token = jwt.encode(claims, load_or_create_secret(settings), algorithm="HS256")
    return token, int(claims["exp"])


def verify_link_token(settings: Settings, token: str, *, action: str, target: str) -> LinkGrant:
    """What a link grants, if it is genuine, fresh and for this target (not yet whether it
    was used: that needs the database)."""
    try:
        claims = jwt.decode(
            token,
            load_or_create_secret(settings),
            algorithms=["HS256"],
            audience=_audience(settings, action),
            issuer=settings.auth.issuer,
            leeway=settings.auth.leeway_seconds,
            options={"require": ["exp", "iat", "sub", "tgt", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("This link has expired; ask for a new one") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"Invalid link: {exc}") from exc
    if claims.get("tgt") != target:
        raise Unauthenticated("Invalid link: it was issued for another target")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 64:
        raise Unauthenticated("Invalid link: malformed id")
    return LinkGrant(principal_from_claims(claims), jti, int(claims["exp"]))
