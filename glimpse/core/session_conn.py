"""A :class:`glimpse.core.sql.Conn` over an ORM session's connection.

Operations that run in an ORM transaction (uploads, tasks, members...) reuse the hot paths'
SQL through this adapter, inside their own transaction, so that SQL is written once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.sql import Row, dollar


class SessionConn:
    """Runs ``?``-placeholder SQL on the session's connection (same transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        bind = session.bind
        self.dialect = (
            "sqlite" if bind is not None and bind.dialect.name == "sqlite" else ("postgresql")
        )

    def _sql(self, sql: str) -> str:
        return dollar(sql) if self.dialect == "postgresql" else sql

    async def _run(self, sql: str, params: Sequence[Any]) -> Any:
        conn = await self._session.connection()
        return await conn.exec_driver_sql(self._sql(sql), tuple(params))

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list((await self._run(sql, params)).fetchall())

    async def fetchrow(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = (await self._run(sql, params)).fetchone()
        return row

    async def fetch_bounded(self, sql: str, params: Sequence[Any], steps: int) -> list[Row] | None:
        return await self.fetch(sql, params)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchrow(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        count: int = (await self._run(sql, params)).rowcount
        return count

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        conn = await self._session.connection()
        await conn.exec_driver_sql(self._sql(sql), [tuple(r) for r in rows])
