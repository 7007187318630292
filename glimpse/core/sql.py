"""Direct driver access for the request hot paths: one small interface over two drivers.

Why not the ORM here: on a point read the ORM's unit of work, statement building and (for
SQLite) the async driver's thread hand-off cost twenty times the query itself. Hot operations
(reading, listing, creating and changing images; token revocation checks) write their SQL
once, with ``?`` placeholders, and run it through a :class:`Conn`:

* SQLite: the stdlib ``sqlite3`` driver, called inline on the event loop. A local read takes
  microseconds, less than a thread hop; writers never block the loop on the database lock
  because they first take the :class:`WriteGate`.
* PostgreSQL: asyncpg, with its per-connection prepared-statement cache (``?`` becomes ``$n``
  once per distinct statement).

Values cross as plain Python: str, int, float, bool, None and naive-UTC ``datetime``. SQLite
returns times as the text the ORM stores (``YYYY-MM-DD HH:MM:SS.ffffff``) and booleans as
0/1; :func:`as_time` and ``bool()`` turn them back, so rows written by either path read alike.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from asyncpg import UniqueViolationError

Row = Sequence[Any]
Observer = Callable[[str], None]


class UniqueViolation(Exception):
    """A statement broke a unique or primary key constraint (either driver): the operation
    raced another one creating the same thing, and answers with a conflict."""


class Conn(Protocol):
    """A connection inside one transaction (see :class:`glimpse.core.db.Database`)."""

    dialect: str  # "sqlite" or "postgresql"

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """All rows of a query."""
        ...

    async def fetchrow(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row, or ``None``."""
        ...

    async def fetch_bounded(self, sql: str, params: Sequence[Any], steps: int) -> list[Row] | None:
        """All rows, or ``None`` when the query needs more than about ``steps`` units of
        work (SQLite's virtual-machine steps); other databases run it to the end."""
        ...

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or ``None``."""
        ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run a statement once per parameter row."""
        ...


# ---------------------------------------------------------------------------- values

SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
PROGRESS_EVERY = 1000  # SQLite virtual-machine steps between progress-handler calls


def _adapt_datetime(value: datetime) -> str:
    """Times as the ORM stores them on SQLite, so comparisons in SQL stay textual and exact."""
    return value.strftime(SQLITE_TIME)


# The stdlib's implicit datetime adapter is deprecated; this one is explicit and matches the
# ORM's storage format (SQLAlchemy's SQLite DateTime).
sqlite3.register_adapter(datetime, _adapt_datetime)


def as_time(value: Any) -> datetime:
    """A stored time as a naive-UTC datetime (SQLite gives text, PostgreSQL a datetime)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def as_time_or_none(value: Any) -> datetime | None:
    return None if value is None else as_time(value)


@lru_cache(maxsize=2048)
def dollar(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2 ...`` (our SQL never has ``?`` literals)."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _m: f"${next(counter)}", sql)


# ---------------------------------------------------------------------------- SQLite


class _Observed:
    """Reports each statement to the database's observers (query-count tests)."""

    def __init__(self, observers: list[Observer]) -> None:
        self._observers = observers

    def _seen(self, sql: str) -> None:
        for observe in self._observers:
            observe(sql)


class SqliteConn(_Observed):
    """``sqlite3`` called inline: every method completes without suspending."""

    dialect = "sqlite"

    def __init__(self, raw: sqlite3.Connection, observers: list[Observer]) -> None:
        super().__init__(observers)
        self.raw = raw

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if self._observers:
            self._seen(sql)
        return self.raw.execute(sql, params).fetchall()

    async def fetchrow(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        if self._observers:
            self._seen(sql)
        row: Row | None = self.raw.execute(sql, params).fetchone()
        return row

    async def fetch_bounded(self, sql: str, params: Sequence[Any], steps: int) -> list[Row] | None:
        if self._observers:
            self._seen(sql)
        budget = [steps // PROGRESS_EVERY]

        def spend() -> int:
            budget[0] -= 1
            return 1 if budget[0] < 0 else 0  # non-zero interrupts the statement

        self.raw.set_progress_handler(spend, PROGRESS_EVERY)
        try:
            return self.raw.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if str(exc) != "interrupted":
                raise
            return None
        finally:
            self.raw.set_progress_handler(None, 0)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchrow(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if self._observers:
            self._seen(sql)
        try:
            return self.raw.execute(sql, params).rowcount
        except sqlite3.IntegrityError as exc:
            raise _unique(exc) from exc

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self._observers:
            self._seen(sql)
        try:
            self.raw.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise _unique(exc) from exc


def _unique(exc: sqlite3.IntegrityError) -> Exception:
    text = str(exc)
    return UniqueViolation(text) if text.startswith("UNIQUE constraint failed") else exc


def open_sqlite(path: str) -> sqlite3.Connection:
    """A connection with the pragmas every Glimpse SQLite connection uses (see db.py)."""
    raw = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, cached_statements=512
    )
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA foreign_keys=ON")
    # Only writers outside the gate (a migration, the sqlite3 shell) can make us wait here.
    raw.execute("PRAGMA busy_timeout=10000")
    return raw


# ---------------------------------------------------------------------------- PostgreSQL


class PgConn(_Observed):
    """An asyncpg connection; statements are prepared and cached per connection."""

    dialect = "postgresql"

    def __init__(self, raw: Any, observers: list[Observer]) -> None:
        super().__init__(observers)
        self.raw = raw

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if self._observers:
            self._seen(sql)
        rows: list[Row] = await self.raw.fetch(dollar(sql), *params)
        return rows

    async def fetchrow(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        if self._observers:
            self._seen(sql)
        row: Row | None = await self.raw.fetchrow(dollar(sql), *params)
        return row

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self._observers:
            self._seen(sql)
        return await self.raw.fetchval(dollar(sql), *params)

    async def fetch_bounded(self, sql: str, params: Sequence[Any], steps: int) -> list[Row] | None:
        return await self.fetch(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if self._observers:
            self._seen(sql)
        try:
            status: str = await self.raw.execute(dollar(sql), *params)
        except UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self._observers:
            self._seen(sql)
        try:
            await self.raw.executemany(dollar(sql), list(rows))
        except UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from exc


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL (``postgresql+asyncpg://``) as a libpq DSN asyncpg understands."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)
