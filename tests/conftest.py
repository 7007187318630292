"""Shared fixtures: real databases (SQLite file, PostgreSQL service), real S3 (moto server),
the application in-process (httpx ASGI transport) and as a live server process.

PostgreSQL: the machine's service on 127.0.0.1:5432 (override with GLIMPSE_TEST_PG_URL). One
throwaway database per test session, emptied between tests. When the service is absent the
PostgreSQL variants skip with the reason, or fail when GLIMPSE_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from glimpse.core.config import Settings, StoreConfig, load_settings
from glimpse.core.context import Principal, RequestContext
from glimpse.policy.tokens import mint_token

REQUIRE_SERVICES = os.environ.get("GLIMPSE_REQUIRE_SERVICES") == "1"
PG_ADMIN_URL = os.environ.get(
    "GLIMPSE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REPO_ROOT = Path(__file__).resolve().parents[1]


def need_service(what: str, reason: str) -> None:
    """Skip with ``reason``, or fail when CI demands every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (GLIMPSE_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(f"{what} unavailable: {reason}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for the session (asyncpg URL)."""
    import asyncpg

    name = f"glimpse_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        need_service("PostgreSQL", f"{PG_ADMIN_URL}: {exc}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    asyncio.run(_migrate(url))
    try:
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migrate(url: str) -> None:
    from glimpse.core.db import Database
    from glimpse.models.migrate import upgrade

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await upgrade(conn, url)
    finally:
        await db.dispose()


async def _empty_pg(url: str) -> None:
    from sqlalchemy import text

    from glimpse.core.db import Database
    from glimpse.models.tables import metadata

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await db.dispose()


# ---------------------------------------------------------------------------- settings


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        sqlite: str = request.getfixturevalue("sqlite_url")
        return sqlite
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_empty_pg(url))
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite file of this test's own."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'glimpse.db'}"
    asyncio.run(_migrate(url))
    return url


def make_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    base = load_settings(env={}, overrides={"data_dir": str(data_dir)})
    stores = overrides.pop("stores", None) or (
        StoreConfig(name="local", type="filesystem", options={"path": str(data_dir / "images")}),
    )
    return replace(base, database_url=database_url, stores=stores, **overrides)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "data", database_url)


@pytest_asyncio.fixture
async def deps(settings: Settings) -> AsyncIterator[Any]:
    from glimpse.app import build_deps

    d = build_deps(settings)
    try:
        yield d
    finally:
        await d.stores.close()
        await d.db.dispose()


# ---------------------------------------------------------------------------- personas


def ctx(project: str | None, *roles: str, user: str = "u") -> RequestContext:
    """A caller: ``ctx("P1", "member")``; member implies reader, admin implies both."""
    expanded = set(roles)
    if "admin" in expanded:
        expanded |= {"member", "reader"}
    if "member" in expanded:
        expanded.add("reader")
    return RequestContext(
        Principal(user_id=f"{user}-{project}", project_id=project, roles=frozenset(expanded))
    )


@dataclass
class Personas:
    admin: RequestContext
    p1_member: RequestContext
    p1_reader: RequestContext
    p2_member: RequestContext
    p2_reader: RequestContext
    no_project: RequestContext


@pytest.fixture
def personas() -> Personas:
    return Personas(
        admin=ctx("admin", "admin"),
        p1_member=ctx("P1", "member"),
        p1_reader=ctx("P1", "reader"),
        p2_member=ctx("P2", "member"),
        p2_reader=ctx("P2", "reader"),
        no_project=ctx(None, "member"),
    )


def token(settings: Settings, project: str | None, *roles: str, user: str = "u") -> str:
    return mint_token(
        settings, user=user, project=project, roles=list(roles) or ["member", "reader"]
    )


# ---------------------------------------------------------------------------- HTTP


@pytest_asyncio.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    from glimpse.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """In-process client (no sockets) for wire-format tests."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://glimpse.test") as client:
        yield client


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    settings: Settings
    process: subprocess.Popen[bytes]

    def token(self, project: str | None = "P1", *roles: str, user: str = "u") -> str:
        return token(self.settings, project, *(roles or ("member", "reader")), user=user)


def start_server(
    data_dir: Path, env: dict[str, str] | None = None, server: str = "granian", workers: int = 1
) -> LiveServer:
    """``glimpse serve`` in a subprocess on a free loopback port; waits for /healthz."""
    port = free_port()
    full_env = {**os.environ, "GLIMPSE_DATA_DIR": str(data_dir), **(env or {})}
    log = open(data_dir.parent / f"server-{port}.log", "wb")  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "glimpse",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--server",
            server,
            "--workers",
            str(workers),
        ],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited: {(data_dir.parent / f'server-{port}.log').read_text()}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("server did not become healthy in 60 s")
    settings = load_settings(
        env={k: v for k, v in full_env.items() if k.startswith("GLIMPSE_")},
        overrides={"data_dir": str(data_dir)},
    )
    return LiveServer(url=url, data_dir=data_dir, settings=settings, process=proc)


def server_rss(server: LiveServer) -> int:
    """Resident bytes of a live server and its worker processes together."""
    import psutil

    top = psutil.Process(server.process.pid)
    return sum(p.memory_info().rss for p in [top, *top.children(recursive=True)])


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@contextlib.contextmanager
def running_server(prefix: str = "glimpse-live-") -> Iterator[LiveServer]:
    """A real server (granian, SQLite + filesystem) in a fresh temporary directory."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = start_server(root / "data")
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """One real server process for the whole session (client tests)."""
    with running_server() as server:
        yield server


# ---------------------------------------------------------------------------- SQL counts

_COUNTING: ContextVar[bool] = ContextVar("glimpse_test_counting", default=False)


class Counter:
    """SQL statements run on behalf of this test's requests only.

    The in-process task runner polls the same engine from its own task; its statements
    must not count. Context variables follow the request into DataLoader tasks and into
    SQLAlchemy's greenlets, so the listener keeps only statements issued under the flag.
    """

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, statement: str) -> None:
        if _COUNTING.get():
            self.statements.append(statement)


@contextmanager
def counting(app: Any) -> Iterator[Counter]:
    """Count the SQL statements of the requests made inside the block (ORM sessions and
    direct connections alike: the database reports both to its observers)."""
    observers = app.state.deps.db.observers
    counter = Counter()
    observers.append(counter)
    flag = _COUNTING.set(True)
    try:
        yield counter
    finally:
        _COUNTING.reset(flag)
        observers.remove(counter)


# ---------------------------------------------------------------------------- S3 and tools


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Base URL of a moto S3 server (real HTTP) shared by the session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_endpoint(moto_endpoint: str) -> Iterator[str]:
    """The moto endpoint, emptied after each test."""
    yield moto_endpoint
    httpx.post(f"{moto_endpoint}/moto-api/reset").raise_for_status()


@pytest.fixture(scope="session")
def qemu_img() -> str:
    """Path of qemu-img; skips (or fails under GLIMPSE_REQUIRE_SERVICES=1) when absent."""
    path = shutil.which("qemu-img")
    if path is None:
        need_service("qemu-img", "not installed (apt-get install qemu-utils)")
    assert path is not None
    return path
