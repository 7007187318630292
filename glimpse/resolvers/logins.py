"""The login throttle's counters, in the database so every server process shares them.

An attempt *reserves* before the password is checked: in one transaction it reads its
counters (locked), decides (glimpse.policy.throttle) and, when it may go ahead, counts
itself as a failure already. N parallel wrong passwords therefore cannot all be tried: only
as many as the limits allow get past the reservation. A correct password then gives the
reservation back (the pair's counter is cleared, the others are decremented).

Locking order, so concurrent attempts never deadlock: the source's row first (it
serialises all attempts from one place), then the pair's and the user's rows in key order.
Rows are only created for attempts that got past the source check, so a refused flood adds
nothing; rows whose window ended are deleted now and then (at most ``PURGE_BATCH`` per
sweep, skipping rows others hold).

argon2 verifications (64 MiB each) run at most ``login_max_concurrent`` at a time per
process; an attempt that finds no free slot within ``login_wait_seconds`` is refused with
503 and its reservation given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.clock import utcnow
from glimpse.core.errors import RateLimited, ServiceUnavailable
from glimpse.models.tables import LoginThrottle
from glimpse.policy import throttle as rules
from glimpse.resolvers.deps import Deps

PURGE_EVERY = 60.0
PURGE_BATCH = 500
SLOTS = "login_slots"
LAST_PURGE = "login_throttle_purged"


@dataclass(frozen=True)
class Reservation:
    """An attempt that got past the throttle, already counted as a failure."""

    keys: dict[str, str]


async def reserve(deps: Deps, name: str, address: str | None) -> Reservation:
    """Count the attempt, or raise :class:`RateLimited` (one message for every cause)."""
    limits = rules.Limits.of(deps.settings.auth)
    keys = rules.keys(name, address)
    now = utcnow()
    async with deps.db.begin() as s:
        counters = {rules.SOURCE: await _counter(deps, s, keys, rules.SOURCE, limits, now)}
        wait = rules.source_retry_after(limits, counters[rules.SOURCE], now)
        if wait is None:
            for kind in sorted((rules.PAIR, rules.USER), key=keys.__getitem__):
                counters[kind] = await _counter(deps, s, keys, kind, limits, now)
            wait = rules.retry_after(limits, counters, now)
        if wait is not None:
            raise RateLimited(
                f"Too many failed login attempts; try again in {wait} seconds", retry_after=wait
            )
        await s.exec(
            update(LoginThrottle)
            .where(col(LoginThrottle.key).in_(list(keys.values())))
            .values(failures=col(LoginThrottle.failures) + 1)
        )  # rows this transaction holds already: no new lock
    await _maybe_purge(deps)
    return Reservation(keys)


async def _counter(
    deps: Deps,
    s: AsyncSession,
    keys: dict[str, str],
    kind: str,
    limits: rules.Limits,
    now: datetime,
) -> rules.Counter:
    """The live counter of ``kind`` for this attempt, created if missing, row-locked."""
    key = keys[kind]
    fresh = {"key": key, "kind": kind, "failures": 0, "expires_at": _window_end(limits, now)}
    insert = pg_insert if deps.db.is_postgres else sqlite_insert
    await s.exec(insert(LoginThrottle).values(fresh).on_conflict_do_nothing(index_elements=["key"]))
    stmt = select(LoginThrottle).where(LoginThrottle.key == key)
    if deps.db.is_postgres:
        stmt = stmt.with_for_update()
    row = (await s.exec(stmt)).one()
    if row.expires_at <= now:
        row.failures, row.expires_at = 0, _window_end(limits, now)
        s.add(row)
        await s.flush()
    return rules.Counter(row.failures, row.expires_at)


def _window_end(limits: rules.Limits, now: datetime) -> datetime:
    return now + timedelta(seconds=limits.window_seconds)


async def settle(deps: Deps, reservation: Reservation, *, succeeded: bool) -> None:
    """After the check: a success clears the pair and gives the attempt back; a failure
    stays counted (nothing to do)."""
    if not succeeded:
        return
    await give_back(deps, reservation, clear_pair=True)


async def give_back(deps: Deps, reservation: Reservation, *, clear_pair: bool = False) -> None:
    """Undo a reservation (the password was right, or it was never checked). Rows are
    touched in the order :func:`reserve` locks them, so the two never deadlock."""
    keys = reservation.keys
    async with deps.db.begin() as s:
        await _decrement(s, keys[rules.SOURCE])
        for kind in sorted((rules.PAIR, rules.USER), key=keys.__getitem__):
            if kind == rules.PAIR and clear_pair:
                await s.exec(delete(LoginThrottle).where(col(LoginThrottle.key) == keys[kind]))
            else:
                await _decrement(s, keys[kind])


async def _decrement(s: AsyncSession, key: str) -> None:
    await s.exec(
        update(LoginThrottle)
        .where(col(LoginThrottle.key) == key, col(LoginThrottle.failures) > 0)
        .values(failures=col(LoginThrottle.failures) - 1)
    )


async def _maybe_purge(deps: Deps) -> None:
    """Delete rows whose window ended, at most once a minute per process."""
    last = deps.extras.get(LAST_PURGE, 0.0)
    if time.monotonic() - last < PURGE_EVERY:
        return
    deps.extras[LAST_PURGE] = time.monotonic()
    await purge(deps)


async def purge(deps: Deps) -> int:
    """One batch of expired rows; returns how many went."""
    stale = (
        select(LoginThrottle.key).where(col(LoginThrottle.expires_at) < utcnow()).limit(PURGE_BATCH)
    )
    if deps.db.is_postgres:
        stale = stale.with_for_update(skip_locked=True)
    async with deps.db.begin() as s:
        result = await s.exec(delete(LoginThrottle).where(col(LoginThrottle.key).in_(stale)))
        return int(result.rowcount or 0)


@contextlib.asynccontextmanager
async def verification_slot(deps: Deps) -> AsyncIterator[None]:
    """One of ``login_max_concurrent`` argon2 slots of this process, or 503."""
    auth = deps.settings.auth
    slots = deps.extras.get(SLOTS)
    if not isinstance(slots, asyncio.Semaphore):
        slots = deps.extras[SLOTS] = asyncio.Semaphore(max(1, auth.login_max_concurrent))
    try:
        await asyncio.wait_for(slots.acquire(), auth.login_wait_seconds)
    except TimeoutError:
        raise ServiceUnavailable(
            "Too many logins are being checked right now; try again in a moment",
            headers={"Retry-After": "1"},
        ) from None
    try:
        yield
    finally:
        slots.release()
