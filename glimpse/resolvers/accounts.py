"""Local accounts and login, for deployments without an identity provider.

Operators manage users with ``glimpse user add/list/remove/passwd``; callers exchange a name
and password for a token via ``POST /v2/tokens`` or the GraphQL ``login`` mutation. Passwords
are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile).

A failed login never says whether the name exists: the message is the same, and an unknown
name is checked against a dummy hash with the same parameters, so both take about as long.
Failures are throttled per client address, per name from that address and per name
overall, in counters every server process shares, and checked before the password is
(see glimpse.policy.throttle and glimpse.resolvers.logins); argon2 runs only in a bounded
number of slots per process.
Everything here is refused when an external issuer is configured: that issuer owns identity.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, select

from glimpse.core.clock import utcnow
from glimpse.core.context import Principal
from glimpse.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from glimpse.core.sql import as_time
from glimpse.models.tables import User
from glimpse.policy.tokens import external_issuer, mint_token
from glimpse.resolvers import logins, text
from glimpse.resolvers.conflicts import flush_or_conflict
from glimpse.resolvers.deps import Deps

MIN_PASSWORD = 8
BAD_LOGIN = "Invalid user name or password"
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Account:
    """A local user as operators see it (never the hash)."""

    name: str
    project: str | None
    roles: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    """A token and the identity it carries."""

    token: str
    expires_at: datetime
    user: str
    project: str | None
    roles: tuple[str, ...]


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password, verified for unknown names to equalise timing."""
    return _hasher.hash(secrets.token_urlsafe(24))


def _require_local(deps: Deps) -> None:
    if external_issuer(deps.settings) or not deps.settings.auth.local_accounts:
        raise Forbidden(
            "Local accounts are disabled: tokens come from the configured identity provider"
        )


def _roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({r.strip().lower() for r in roles if r.strip()}))


def _validate(name: str, password: str | None) -> None:
    text.check(name, "user name")
    if password is not None:
        text.check(password, "password")
    if not name or len(name) > 255 or name != name.strip():
        raise InvalidInput("User name must be 1 to 255 characters without surrounding spaces")
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Password must have at least {MIN_PASSWORD} characters")


def _account(u: User) -> Account:
    return Account(u.name, u.project, _roles(u.roles.split(",")), u.created_at)


async def add_user(
    deps: Deps, name: str, password: str, *, project: str | None, roles: list[str]
) -> Account:
    """Create a local user; the name must be new."""
    _require_local(deps)
    _validate(name, password)
    hashed = await anyio.to_thread.run_sync(_hasher.hash, password)
    user = User(
        id=str(uuid.uuid4()),
        name=name,
        project=project or None,
        roles=",".join(_roles(roles)),
        password_hash=hashed,
    )
    async with deps.db.begin() as s:
        if (await s.exec(select(User).where(User.name == name))).first() is not None:
            raise Conflict(f"User {name} already exists")
        s.add(user)
        await flush_or_conflict(s, f"User {name} already exists")
    return _account(user)


async def list_users(deps: Deps) -> list[Account]:
    async with deps.db.read() as s:
        rows = await s.exec(select(User).order_by(col(User.name)))
        return [_account(u) for u in rows]


async def account_token_valid(deps: Deps, principal: Principal) -> bool:
    """Whether a login token still speaks for its account: the account exists and its
    password was not changed after the token was issued. Removing a user or changing a
    password therefore revokes its tokens at once (one indexed lookup per request, only for
    login tokens; tokens of external issuers and of ``glimpse token`` are not affected)."""
    if principal.account is None:
        return True
    async with deps.db.reader() as conn:
        updated = await conn.fetchval(
            "SELECT updated_at FROM users WHERE name = ?", (principal.account,)
        )
    if updated is None or principal.issued_at is None:
        return False
    changed = int(as_time(updated).replace(tzinfo=UTC).timestamp())
    return changed <= principal.issued_at


async def remove_user(deps: Deps, name: str) -> None:
    """Delete a user; its login tokens stop working at once (see account_token_valid)."""
    async with deps.db.begin() as s:
        user = (await s.exec(select(User).where(User.name == name))).first()
        if user is None:
            raise NotFound(f"User {name} not found")
        await s.delete(user)


async def set_password(deps: Deps, name: str, password: str) -> None:
    _require_local(deps)
    _validate(name, password)
    hashed = await anyio.to_thread.run_sync(_hasher.hash, password)
    async with deps.db.begin() as s:
        user = (await s.exec(select(User).where(User.name == name))).first()
        if user is None:
            raise NotFound(f"User {name} not found")
        user.password_hash, user.updated_at = hashed, utcnow()
        s.add(user)


async def _verify(deps: Deps, name: str, password: str) -> tuple[User | None, bool]:
    """The user and whether the password matches, in one of the bounded argon2 slots."""
    async with deps.db.read() as s:
        user = (await s.exec(select(User).where(User.name == name))).first()
    async with logins.verification_slot(deps):
        ok = await _matches(user.password_hash if user else _dummy_hash(), password or "")
    return user, ok and user is not None


async def _matches(hashed: str, password: str) -> bool:
    def check() -> bool:
        try:
            return bool(_hasher.verify(hashed, password))
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


async def login(deps: Deps, name: str, password: str, *, client: str | None) -> IssuedToken:
    """Exchange a name and password for a token of the embedded issuer."""
    _require_local(deps)
    text.check(name, "user name")
    text.check(password, "password")
    reservation = await logins.reserve(deps, name, client)
    try:
        user, ok = await _verify(deps, name, password)
    except BaseException:
        await logins.give_back(deps, reservation)  # never checked: does not count
        raise
    await logins.settle(deps, reservation, succeeded=ok)
    if user is None or not ok:
        raise Unauthenticated(BAD_LOGIN)
    if _hasher.check_needs_rehash(user.password_hash):
        await set_password(deps, name, password)
    roles = list(_roles(user.roles.split(",")))
    now = int(time.time())
    token = mint_token(
        deps.settings, user=user.name, project=user.project, roles=roles, now=now, account=True
    )
    expires = datetime.fromtimestamp(now + deps.settings.auth.default_ttl_seconds, UTC)
    expires = expires.replace(tzinfo=None)  # naive UTC, like every stored time
    return IssuedToken(token, expires, user.name, user.project, tuple(roles))
