"""Short-lived signed links: a capability for one action on one target, carried in a URL.

A browser cannot put an ``Authorization`` header on a plain ``<a href>`` download, and
buffering a multi-GiB image in page memory to attach the header is not an option. So the
console asks for a link: a JWT signed with the service secret that names the caller, the
action and the image, valid for a minute. Its audience is ``<audience>#<action>``, so the
ordinary bearer-token verifier (which demands the plain audience) refuses it: a leaked link
grants that one download, never API access.
"""

from __future__ import annotations

import jwt

from glimpse.core.config import Settings
from glimpse.core.context import Principal
from glimpse.core.errors import Unauthenticated
from glimpse.policy.tokens import load_or_create_secret, principal_from_claims, token_claims

LINK_TTL_SECONDS = 60


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
    claims.update(aud=_audience(settings, action), tgt=target)
    token = jwt.encode(claims, load_or_create_secret(settings), algorithm="HS256")
    return token, int(claims["exp"])


def verify_link_token(settings: Settings, token: str, *, action: str, target: str) -> Principal:
    """The principal a link was minted for, if it is genuine, fresh and for this target."""
    try:
        claims = jwt.decode(
            token,
            load_or_create_secret(settings),
            algorithms=["HS256"],
            audience=_audience(settings, action),
            issuer=settings.auth.issuer,
            leeway=settings.auth.leeway_seconds,
            options={"require": ["exp", "iat", "sub", "tgt"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("This link has expired; ask for a new one") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"Invalid link: {exc}") from exc
    if claims.get("tgt") != target:
        raise Unauthenticated("Invalid link: it was issued for another target")
    return principal_from_claims(claims)
