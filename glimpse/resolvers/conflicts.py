"""Unique-key races become Conflict, on both databases.

Operations check that a name is free before inserting it, but two requests can pass that
check together; the database's unique index then refuses the second insert. That refusal
is the same answer the check would have given - 409 - and never a 500. Only unique
violations are translated: any other integrity failure is a bug and stays one.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.errors import Conflict

UNIQUE_SQLSTATE = "23505"
SQLITE_UNIQUE = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether ``exc`` is a duplicate key (PostgreSQL 23505, SQLite UNIQUE/PRIMARY KEY)."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == UNIQUE_SQLSTATE:
        return True
    return getattr(orig, "sqlite_errorname", None) in SQLITE_UNIQUE


async def flush_or_conflict(s: AsyncSession, message: str) -> None:
    """Write pending rows now; a duplicate key is :class:`Conflict` with ``message``."""
    try:
        await s.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise Conflict(message) from exc
        raise


async def inserted(s: AsyncSession, row: SQLModel) -> bool:
    """Insert ``row`` in a savepoint: ``False`` (and the transaction still usable) when its
    unique key was taken meanwhile - the get-or-create that must not fail on a race."""
    try:
        async with s.begin_nested():
            s.add(row)
            await s.flush()
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return False
    return True
