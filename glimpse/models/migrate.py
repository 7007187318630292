"""Alembic migrations, run programmatically (``glimpse db upgrade``, tests, first start).

The Alembic environment lives in ``glimpse/models/migrations``; no alembic.ini is needed.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncConnection

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _upgrade(sync_conn: object, url: str, revision: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


async def upgrade(conn: AsyncConnection, url: str, revision: str = "head") -> None:
    """Bring the database at ``conn`` to ``revision`` (idempotent)."""
    await conn.run_sync(_upgrade, url, revision)
