"""Failed-login throttling rules: what an attempt is counted against and when it must wait.

Pure decisions; the counters live in the database (glimpse.resolvers.logins) so that every
server process shares them. Three counters per attempt, each over a window of
``login_window_seconds``:

* **source**: failures from one client address (an IPv6 address counts as its /64, the
  block one host usually gets), any names: limits password spraying from one place;
* **pair**: failures for one user name from one source: limits guessing one password from
  one place;
* **user**: failures for one user name from all sources: once it is over its (higher)
  limit, the name may only be tried from sources that have no failure in their window.

None of them is a lock-out weapon: a source that has not been failing can always try the
right password, however hard others are hammering the same name. Unknown and existing
names are counted alike, so the throttle does not reveal whether an account exists.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime

from glimpse.core.config import AuthSettings

SOURCE, PAIR, USER = "source", "pair", "user"


@dataclass(frozen=True)
class Limits:
    """Failures allowed per window (a negative limit never throttles)."""

    per_source: int
    per_pair: int
    per_user: int
    window_seconds: int

    @classmethod
    def of(cls, auth: AuthSettings) -> Limits:
        return cls(
            per_source=auth.login_failures_per_address,
            per_pair=auth.login_failures_per_user,
            per_user=auth.login_failures_per_user_total,
            window_seconds=auth.login_window_seconds,
        )


@dataclass(frozen=True)
class Counter:
    """One counter as stored: failures in the window that ends at ``expires_at``."""

    failures: int
    expires_at: datetime


def source_of(address: str | None) -> str:
    """The unit a client address is counted in: the address, or its /64 for IPv6."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def name_of(name: str) -> str:
    return name.strip().casefold()


def keys(name: str, address: str | None) -> dict[str, str]:
    """The counters of an attempt by kind, as fixed-length hashes."""
    source, user = source_of(address), name_of(name)
    raw = {SOURCE: source, PAIR: f"{user}\x00{source}", USER: user}
    return {kind: _digest(kind, value) for kind, value in raw.items()}


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode("utf-8", "surrogatepass")).hexdigest()


def source_retry_after(limits: Limits, source: Counter, now: datetime) -> int | None:
    """The source's own verdict, decided before any other counter is touched."""
    return _wait([source] if _over(limits.per_source, source) else [], now)


def retry_after(limits: Limits, counters: dict[str, Counter], now: datetime) -> int | None:
    """Seconds this attempt must wait, or ``None`` when it may go ahead. ``counters`` are
    the live ones (expired windows already reset to zero failures)."""
    source, pair, user = counters[SOURCE], counters[PAIR], counters[USER]
    blocked = [
        *([source] if _over(limits.per_source, source) else []),
        *([pair] if _over(limits.per_pair, pair) else []),
        *([user] if _over(limits.per_user, user) and source.failures > 0 else []),
    ]
    return _wait(blocked, now)


def _wait(blocked: list[Counter], now: datetime) -> int | None:
    if not blocked:
        return None
    end = max(c.expires_at for c in blocked)
    return max(1, math.ceil((end - now).total_seconds()))


def _over(limit: int, counter: Counter) -> bool:
    return 0 <= limit <= counter.failures
