"""Failed-login throttling: a sliding window of failures per user name and per client address.

Kept in memory, per server process, on purpose:

* the keys are chosen by the attacker (any name, any address); writing a row per failure
  would let login spam grow a table and, on SQLite, queue behind image writes for the one
  write lock;
* the state is worth little after a restart: it only has to slow guessing down.

The cost is that with N server processes an attacker gets N times the budget; the limits are
small enough (5 per name, 20 per address per 5 minutes by default) that this stays far from
useful guessing rates against argon2 hashes. The number of tracked keys is bounded: the
oldest are forgotten first.

Unknown and existing user names are throttled alike, so the throttle itself does not reveal
whether an account exists.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from glimpse.core.config import AuthSettings
from glimpse.core.errors import RateLimited

MAX_KEYS = 10_000


class _Window:
    """Failure times per key within the last ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        cutoff = self.clock() - self.window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may try again, or ``None`` when it may try now."""
        if self.limit < 0:
            return None
        hits = self._recent(key)
        if len(hits) < self.limit:
            return None
        return max(1, math.ceil(hits[0] + self.window - self.clock()))

    def add(self, key: str) -> None:
        hits = self._hits.setdefault(key, deque())
        self._hits.move_to_end(key)
        hits.append(self.clock())
        while len(self._hits) > MAX_KEYS:
            self._hits.popitem(last=False)

    def clear(self, key: str) -> None:
        self._hits.pop(key, None)


class LoginThrottle:
    """Refuses login attempts for a name or an address that failed too often recently."""

    def __init__(self, auth: AuthSettings, clock: Callable[[], float] = time.monotonic) -> None:
        window = float(auth.login_window_seconds)
        self._names = _Window(auth.login_failures_per_user, window, clock)
        self._addresses = _Window(auth.login_failures_per_address, window, clock)

    def check(self, name: str, address: str | None) -> None:
        """Raise :class:`RateLimited` (same message for every cause) when throttled."""
        waits = [self._names.retry_after(_key(name))]
        if address:
            waits.append(self._addresses.retry_after(address))
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise RateLimited(
                f"Too many failed login attempts; try again in {wait} seconds", retry_after=wait
            )

    def failed(self, name: str, address: str | None) -> None:
        self._names.add(_key(name))
        if address:
            self._addresses.add(address)

    def succeeded(self, name: str) -> None:
        """A correct password clears the name's failures (not the address's)."""
        self._names.clear(_key(name))


def _key(name: str) -> str:
    return name.strip().casefold()
