"""Live servers for edge tests: the protections here live in the server process and in
granian, so they are probed over real sockets."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, _empty_pg, start_server, stop_server


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    """``glimpse serve`` (granian, SQLite) shared by one test module."""
    root = Path(tempfile.mkdtemp(prefix="glimpse-edge-"))
    server = start_server(root / "data")
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live_db(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """``glimpse serve`` on SQLite, then on PostgreSQL (the session's database, emptied)."""
    env: dict[str, str] = {}
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_database")
        asyncio.run(_empty_pg(url))
        env["GLIMPSE_DATABASE_URL"] = url
    root = Path(tempfile.mkdtemp(prefix="glimpse-edge-"))
    server = start_server(root / "data", env=env)
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(root, ignore_errors=True)
