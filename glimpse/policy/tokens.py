"""JWT bearer tokens: minting for the embedded default, verification for every request.

The embedded default signs with an HS256 secret generated into the data directory on first
start (mode 0600). Claims: ``sub`` (user), ``project`` (may be empty: a token with no
project), ``roles`` (list), plus ``iss``/``aud``/``iat``/``nbf``/``exp``.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import jwt

from glimpse.core.config import Settings
from glimpse.core.context import Principal
from glimpse.core.errors import Unauthenticated

SECRET_FILE = "jwt-secret"


def secret_path(settings: Settings) -> Path:
    return (
        Path(settings.auth.secret_file)
        if settings.auth.secret_file
        else (settings.data_dir / SECRET_FILE)
    )


def load_or_create_secret(settings: Settings) -> bytes:
    """Read the HS256 secret, creating it (0600, atomically) if this is the first start."""
    path = secret_path(settings)
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_urlsafe(48).encode())
    try:
        os.link(tmp, path)  # fails if another process won the race: keep theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes().strip()


def mint_token(
    settings: Settings,
    *,
    user: str,
    project: str | None,
    roles: list[str],
    ttl: int | None = None,
    now: float | None = None,
) -> str:
    """Sign a token the server using the same data directory accepts."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "sub": user,
        "project": project or "",
        "roles": sorted(set(roles)),
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + (ttl if ttl is not None else settings.auth.default_ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, load_or_create_secret(settings), algorithm="HS256")


class TokenVerifier:
    """Checks signature, algorithm, time and audience claims; returns the principal."""

    def __init__(self, settings: Settings) -> None:
        self._auth = settings.auth
        self._secret = load_or_create_secret(settings)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=self._auth.audience,
                issuer=self._auth.issuer,
                leeway=self._auth.leeway_seconds,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("Token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"Invalid token: {exc}") from exc
        return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("Invalid token: 'roles' must be a list of strings")
    project = claims.get("project") or None
    return Principal(
        user_id=str(claims["sub"]),
        project_id=str(project) if project else None,
        roles=frozenset(r.lower() for r in roles),
    )
