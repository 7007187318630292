"""An SQLAlchemy dialect, ``sqlite+glimpse``, that runs the stdlib driver inline.

SQLAlchemy's asyncio extension needs an async driver; for SQLite that is aiosqlite, which
runs every call on its own thread and hands the result back through the event loop. On a busy
loop each hand-off waits behind the other ready tasks, so an ORM transaction that holds the
write gate (glimpse/core/write_gate.py) stayed open for as many loop turns as it had
statements, and every other writer waited for it. Here each call runs on the spot: the
coroutines SQLAlchemy awaits complete without suspending, a transaction holds the gate only
for its own work, and no thread hop is paid. A local SQLite call takes microseconds; waits
for the write lock cannot happen inside the driver because every writer holds the gate first.

The dialect is aiosqlite's with its connection factory replaced; the objects below offer the
part of aiosqlite's connection and cursor interface that SQLAlchemy uses.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_


class InlineCursor:
    """An aiosqlite-shaped cursor over a ``sqlite3`` cursor (nothing suspends)."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._cursor = raw.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, seq)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """An aiosqlite-shaped connection over a ``sqlite3`` connection."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self._connection = raw  # SQLAlchemy's adapter checks this to know it is open

    def cursor(self) -> InlineCursor:
        return InlineCursor(self.raw)

    @property
    def isolation_level(self) -> str | None:
        return self.raw.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self.raw.isolation_level = value  # type: ignore[assignment]

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self.raw.create_function(*args, **kw)

    async def commit(self) -> None:
        self.raw.commit()

    async def rollback(self) -> None:
        self.raw.rollback()

    async def close(self) -> None:
        self.raw.close()

    def stop(self) -> None:
        self.raw.close()


async def _connect(database: str, **kw: Any) -> InlineConnection:
    kw.setdefault("check_same_thread", False)
    return InlineConnection(sqlite3.connect(database, **kw))


class _Adapted(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        level: str | None = self._connection.isolation_level
        return level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value

    def create_function(self, *args: Any, **kw: Any) -> None:
        await_(self._connection.create_function(*args, **kw))


class _InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite's DBAPI adapter (its exception and type names are sqlite3's), connecting
    inline connections."""

    def connect(self, *args: Any, **kw: Any) -> _Adapted:
        kw.pop("async_creator_fn", None)
        connection: Any = await_(_connect(*args, **kw))  # aiosqlite-shaped, see above
        return _Adapted(self, connection)


class SQLiteDialect_glimpse(SQLiteDialect_aiosqlite):
    driver = "glimpse"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> _InlineDBAPI:
        import aiosqlite

        return _InlineDBAPI(aiosqlite, sqlite3)


registry.register("sqlite.glimpse", __name__, "SQLiteDialect_glimpse")
