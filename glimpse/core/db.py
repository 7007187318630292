"""The database: ORM sessions for most operations, direct connections for the hot paths.

Two ways in, one database:

* ``begin()`` / ``read()``: SQLModel sessions, one per operation (never per HTTP request:
  Strawberry resolves sibling fields concurrently and an AsyncSession must not be shared
  between tasks). Used by every operation that is not on the request hot path.
* ``writer()`` / ``reader()``: a :class:`glimpse.core.sql.Conn` inside one transaction, for
  the operations every client calls all the time (see glimpse/core/sql.py for why).

On SQLite every write transaction, of either kind, first takes the :class:`WriteGate`, so
writers queue in order instead of sleeping in SQLite's busy handler, and inline writers
never block the event loop on the database lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core import sqlite_inline  # noqa: F401 - registers the sqlite+glimpse dialect
from glimpse.core.sql import Conn, Observer, PgConn, SqliteConn, asyncpg_dsn, open_sqlite
from glimpse.core.write_gate import WriteGate

# Idle SQLite connections kept for reuse (more are opened while more are in use at once).
SQLITE_IDLE = 8
PG_POOL_MAX = 10


class Database:
    """Owns the engine and the direct connections; hands out transactions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgres = url.startswith("postgresql")
        self._analyzed_rows: int | None = None
        self.observers: list[Observer] = []
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=5, max_overflow=15, pool_pre_ping=True)
        # SQLite runs inline under the ORM too (glimpse/core/sqlite_inline.py).
        engine_url = make_url(url).set(drivername="sqlite+glimpse") if self.is_sqlite else url
        self.engine: AsyncEngine = create_async_engine(engine_url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._orm_statement)
        writer = self.engine.execution_options(glimpse_write=True)
        self._sessions = async_sessionmaker(
            writer, class_=AsyncSession, expire_on_commit=False, autoflush=False
        )
        self._readers = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False, autoflush=False
        )
        self.path = _sqlite_path(url) if self.is_sqlite else None
        self.gate = WriteGate(self.path) if self.path is not None else None
        self._idle: list[sqlite3.Connection] = []
        self._pg: Any = None
        self._pg_loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ ORM sessions

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self._gated(), self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction; on SQLite it does not take the write lock."""
        async with self._readers() as session, session.begin():
            yield session

    @asynccontextmanager
    async def _gated(self) -> AsyncIterator[None]:
        if self.gate is None:
            yield
            return
        async with self.gate.hold():
            yield

    def _orm_statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        for observe in self.observers:
            observe(statement)

    # ------------------------------------------------------------------ direct connections

    @asynccontextmanager
    async def reader(self, *, snapshot: bool = False) -> AsyncIterator[Conn]:
        """A direct connection for reads. Each statement sees a consistent state; with
        ``snapshot`` all of them see the same one (on PostgreSQL that costs two more round
        trips, BEGIN and COMMIT, so single-statement reads go without)."""
        if self.path is not None:
            raw = self._sqlite_checkout()
            try:
                raw.execute("BEGIN")
                try:
                    yield SqliteConn(raw, self.observers)
                finally:
                    raw.execute("COMMIT")
            finally:
                self._sqlite_checkin(raw)
            return
        pool = await self._pg_pool()
        async with pool.acquire() as raw:
            if not snapshot:
                yield PgConn(raw, self.observers)
                return
            async with raw.transaction(isolation="repeatable_read", readonly=True):
                yield PgConn(raw, self.observers)

    @asynccontextmanager
    async def writer(self, *, one_statement: bool = False) -> AsyncIterator[Conn]:
        """A write transaction on a direct connection: committed on success, rolled back on
        error. ``one_statement``: the body runs a single statement on PostgreSQL, atomic by
        itself, so the BEGIN and COMMIT round trips are left out (SQLite always has them:
        there they cost microseconds and the gate is held anyway)."""
        if self.path is not None:
            assert self.gate is not None
            async with self.gate.hold():
                raw = self._sqlite_checkout()
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    try:
                        yield SqliteConn(raw, self.observers)
                    except BaseException:
                        raw.execute("ROLLBACK")
                        raise
                    raw.execute("COMMIT")
                finally:
                    self._sqlite_checkin(raw)
            return
        pool = await self._pg_pool()
        async with pool.acquire() as raw:
            if one_statement:
                yield PgConn(raw, self.observers)
                return
            async with raw.transaction():
                yield PgConn(raw, self.observers)

    def _sqlite_checkout(self) -> sqlite3.Connection:
        assert self.path is not None
        return self._idle.pop() if self._idle else open_sqlite(str(self.path))

    def _sqlite_checkin(self, raw: sqlite3.Connection) -> None:
        if raw.in_transaction:  # a failure between BEGIN and COMMIT/ROLLBACK
            raw.close()
        elif len(self._idle) < SQLITE_IDLE:
            self._idle.append(raw)
        else:
            raw.close()

    async def _pg_pool(self) -> Any:
        """asyncpg's pool, made on first use in the running loop (tests run several loops)."""
        loop = asyncio.get_running_loop()
        if self._pg is None or self._pg_loop is not loop:
            import asyncpg

            self._pg = await asyncpg.create_pool(
                asyncpg_dsn(self.url), min_size=1, max_size=PG_POOL_MAX
            )
            self._pg_loop = loop
        return self._pg

    # ------------------------------------------------------------------ maintenance

    async def refresh_statistics(self) -> bool:
        """Give SQLite's planner row statistics (PostgreSQL's autovacuum does this itself).

        Without them SQLite guesses, and for the default listing it guessed an index that
        made every page sort all visible rows; with them it walks ``(created_at, id)`` and
        stops after one page. Sampled statistics (``analysis_limit``) misjudged the
        visibility index the same way, so this is a full ANALYZE (0.4 s for 100k images
        with 1.3M property and tag rows), run only when the catalog grew or shrank by a
        tenth since the last one. Returns whether it ran.
        """
        if not self.is_sqlite:
            return False
        async with self._gated(), self.engine.begin() as conn:
            count = (await conn.exec_driver_sql("SELECT count(*) FROM images")).scalar_one()
            last = self._analyzed_rows
            if last is not None and abs(count - last) <= max(100, last // 10):
                return False
            await conn.exec_driver_sql("ANALYZE")
        self._analyzed_rows = int(count)
        self._drop_idle()  # fresh connections load the new statistics
        return True

    def _drop_idle(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def dispose(self) -> None:
        self._drop_idle()
        if self._pg is not None and self._pg_loop is asyncio.get_running_loop():
            await self._pg.close()
        self._pg = None
        if self.gate is not None:
            self.gate.close()
        await self.engine.dispose()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("Glimpse needs an SQLite file (several connections share it)")
    return Path(database).resolve()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets readers proceed during writes; foreign keys are off by default in SQLite.

    The driver's own transaction handling is switched off so that :func:`_sqlite_begin` decides
    how each transaction starts.
    """
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    """Write transactions take SQLite's write lock up front (``BEGIN IMMEDIATE``).

    A deferred transaction that reads and then writes cannot wait for the lock once another
    writer holds it (SQLITE_BUSY at once, busy_timeout does not apply), so concurrent
    operations would fail at random. Readers stay deferred and never block in WAL mode.
    """
    if conn.get_execution_options().get("glimpse_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


__all__ = ["Database", "Engine", "NullPool"]
