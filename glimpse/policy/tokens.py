"""JWT bearer tokens: minting for the embedded default, verification for every request.

Two modes, never mixed:

* **embedded** (default): HS256 with a secret generated into the data directory on first start
  (mode 0600). ``glimpse token`` and ``POST /v2/tokens`` mint tokens with it.
* **external issuer**: ``auth.public_key_file`` (PEM) or ``auth.jwks_url`` (an OIDC provider's
  key set) is configured. Only asymmetric algorithms are accepted (RS*/PS*/ES*/EdDSA), so a
  token "signed" with HS256 using the public key as the secret - the classic algorithm
  confusion attack - is refused before any key is touched. Local minting is disabled.

Claims: ``sub`` (user), ``project`` (or ``project_id``; empty means a token with no project),
``roles`` (list), plus ``iss``/``aud``/``iat``/``nbf``/``exp`` checked with a small leeway.
Every refusal is :class:`Unauthenticated` with a message that says what was wrong, never
which secret or key was tried.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from pathlib import Path
from typing import Any, Final, Protocol

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from glimpse.core.config import Settings
from glimpse.core.context import Principal
from glimpse.core.errors import InvalidInput, Unauthenticated

SECRET_FILE = "jwt-secret"
ASYMMETRIC: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_EXTERNAL_ALGORITHMS: Final = ("RS256", "ES256")


def secret_path(settings: Settings) -> Path:
    return (
        Path(settings.auth.secret_file)
        if settings.auth.secret_file
        else (settings.data_dir / SECRET_FILE)
    )


def external_issuer(settings: Settings) -> bool:
    """Whether tokens come from an external issuer (then nothing is minted locally)."""
    return bool(settings.auth.public_key_file or settings.auth.jwks_url)


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
    account: bool = False,
) -> str:
    """Sign a token the server using the same data directory accepts (embedded mode only).

    ``account`` marks a token issued by a local-account login: the server then checks on
    each request that the account still exists and its password did not change since.
    """
    if external_issuer(settings):
        raise InvalidInput("Tokens are issued by the configured external issuer, not by Glimpse")
    claims = token_claims(settings, user=user, project=project, roles=roles, ttl=ttl, now=now)
    if account:
        claims["acct"] = "local"
    return jwt.encode(claims, load_or_create_secret(settings), algorithm="HS256")


def token_claims(
    settings: Settings,
    *,
    user: str,
    project: str | None,
    roles: list[str],
    ttl: int | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims Glimpse puts in its own tokens (``exp`` = issue time + ttl)."""
    issued = int(now if now is not None else time.time())
    return {
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


class KeySource(Protocol):
    """Where the verification key for a token header comes from."""

    async def key_for(self, header: dict[str, Any]) -> Any:
        """The key, fetching it if needed; :class:`Unauthenticated` when unknown."""
        ...

    def cached_key(self, header: dict[str, Any]) -> Any:
        """The key if it is at hand without I/O, else ``None``."""
        ...


class StaticKey:
    """One key for every token: the embedded secret or a PEM public key."""

    def __init__(self, key: Any) -> None:
        self._key = key

    async def key_for(self, header: dict[str, Any]) -> Any:
        return self._key

    def cached_key(self, header: dict[str, Any]) -> Any:
        return self._key


def load_public_key(path: str) -> Any:
    """A PEM public key; a private key or garbage fails at start-up, not per request."""
    try:
        return load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"auth.public_key_file {path!r} is not a PEM public key: {exc}") from exc


def _algorithms(settings: Settings) -> tuple[str, ...]:
    if not external_issuer(settings):
        return ("HS256",)
    chosen = tuple(a for a in settings.auth.algorithms if a in ASYMMETRIC)
    return chosen or DEFAULT_EXTERNAL_ALGORITHMS


def _key_source(settings: Settings) -> KeySource:
    if settings.auth.jwks_url:
        from glimpse.policy.jwks import JwksKeys

        auth = settings.auth
        return JwksKeys(
            auth.jwks_url, ttl=auth.jwks_ttl_seconds, max_wait=auth.jwks_max_wait_seconds
        )
    if settings.auth.public_key_file:
        return StaticKey(load_public_key(settings.auth.public_key_file))
    return StaticKey(load_or_create_secret(settings))


_CLAIM_ERRORS: Final[tuple[tuple[type[jwt.PyJWTError], str], ...]] = (
    (jwt.ExpiredSignatureError, "Token has expired"),
    (jwt.ImmatureSignatureError, "Token is not valid yet (nbf or iat in the future)"),
    (jwt.InvalidAudienceError, "Token audience is not accepted by this service"),
    (jwt.InvalidIssuerError, "Token issuer is not trusted by this service"),
    (jwt.InvalidSignatureError, "Token signature is invalid"),
    (jwt.InvalidAlgorithmError, "Token algorithm is not accepted"),
    (jwt.DecodeError, "Token is malformed"),
)


class TokenVerifier:
    """Checks algorithm, signature, time, issuer and audience claims; returns the principal."""

    def __init__(self, settings: Settings, keys: KeySource | None = None) -> None:
        self._auth = settings.auth
        self.algorithms = _algorithms(settings)
        self.external = external_issuer(settings)
        self._keys = keys or _key_source(settings)

    @property
    def keys(self) -> KeySource:
        """Where verification keys come from (a JWKS cache reports its fetches)."""
        return self._keys

    async def authenticate(self, token: str) -> Principal:
        """The principal of a valid token (used per request). The algorithm is checked before
        any key lookup, so a forged header can neither pick the key type nor cause a fetch."""
        header, alg = self._checked_header(token)
        key = await self._keys.key_for(header)
        return principal_from_claims(self._decode(token, key, alg))

    def verify(self, token: str) -> Principal:
        """Synchronous :meth:`authenticate` for callers without an event loop (CLI, tests):
        only keys at hand are used; a JWKS key not fetched yet counts as unknown."""
        header, alg = self._checked_header(token)
        key = self._keys.cached_key(header)
        if key is None:
            raise Unauthenticated(f"Token signing key {header.get('kid')!r} is not known")
        return principal_from_claims(self._decode(token, key, alg))

    def _checked_header(self, token: str) -> tuple[dict[str, Any], str]:
        header = _header(token)
        alg = str(header["alg"])
        if alg not in self.algorithms:
            raise Unauthenticated(
                f"Token algorithm '{alg}' is not accepted (expected {', '.join(self.algorithms)})"
            )
        return header, alg

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        required = ["exp", "sub"] + [n for n in ("iss", "aud") if getattr(self._auth, _SETTING[n])]
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._auth.audience or None,
                issuer=self._auth.issuer or None,
                leeway=self._auth.leeway_seconds,
                options={"require": required, "verify_aud": bool(self._auth.audience)},
            )
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"Token is missing the '{exc.claim}' claim") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(_message(exc)) from exc
        except (TypeError, ValueError) as exc:  # a key of the wrong type for ``alg``
            raise Unauthenticated("Token does not match the signing key type") from exc
        if "tgt" in claims:  # a signed link (glimpse.policy.links) is never a bearer token
            raise Unauthenticated("A signed link is not a bearer token")
        return claims


_SETTING: Final = {"iss": "issuer", "aud": "audience"}


def _message(exc: jwt.PyJWTError) -> str:
    for cls, message in _CLAIM_ERRORS:
        if isinstance(exc, cls):
            return message
    return f"Invalid token: {exc}"


def _header(token: str) -> dict[str, Any]:
    """The unverified header, only to choose the algorithm and key; its claims are not used."""
    try:
        header: dict[str, Any] = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthenticated("Token is malformed") from exc
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise Unauthenticated("Unsigned tokens (alg 'none') are refused")
    return header


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The caller named by verified claims; malformed identity claims are refused."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise Unauthenticated("Token 'sub' claim must be a non-empty string")
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("Invalid token: 'roles' must be a list of strings")
    project = claims.get("project", claims.get("project_id")) or None
    if project is not None and not isinstance(project, str):
        raise Unauthenticated("Invalid token: 'project' must be a string")
    iat, exp = claims.get("iat"), claims.get("exp")
    return Principal(
        user_id=sub,
        project_id=project,
        roles=frozenset(r.strip().lower() for r in roles if r.strip()),
        account=sub if claims.get("acct") == "local" else None,
        issued_at=iat if isinstance(iat, int) else None,
        expires_at=int(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None,
    )
