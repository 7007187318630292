"""Finding 6: the login throttle is atomic, shared by every process, per source and per
user (never a lock-out weapon), bounded in rows, and argon2 runs in bounded slots."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, update
from sqlmodel import select

from glimpse.app import build_deps, create_app
from glimpse.core.clock import utcnow
from glimpse.core.config import Settings
from glimpse.models.tables import LoginThrottle
from glimpse.resolvers import accounts, logins
from glimpse.resolvers.deps import Deps
from tests.conftest import make_settings, start_server, stop_server

LOGIN = "mutation($n: String!, $p: String!) { login(name: $n, password: $p) { user } }"
GQL_STATUS = {None: 200, "UNAUTHENTICATED": 401, "RATE_LIMITED": 429, "SERVICE_UNAVAILABLE": 503}
RIGHT = "correct horse battery"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    base = make_settings(tmp_path / "data", database_url)
    return replace(base, tasks=replace(base.tasks, run_in_process=False))


def tuned(settings: Settings, **auth: Any) -> Settings:
    return replace(settings, auth=replace(settings.auth, **auth))


class App:
    """The app in-process; ``client(address)`` speaks to it from that source address."""

    def __init__(self, app: Any, stack: contextlib.AsyncExitStack) -> None:
        self.app, self.stack = app, stack

    @property
    def deps(self) -> Deps:
        deps: Deps = self.app.state.deps
        return deps

    async def client(self, address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://glimpse.test")
        return await self.stack.enter_async_context(client)


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[App]:
    app = create_app(settings)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        served = App(app, stack)
        await accounts.add_user(served.deps, "alice", RIGHT, project="P1", roles=["reader"])
        await accounts.add_user(served.deps, "bob", RIGHT, project="P1", roles=["reader"])
        yield served


async def rest(http: httpx.AsyncClient, name: str, password: str) -> int:
    r = await http.post("/v2/tokens", json={"name": name, "password": password})
    return r.status_code


async def graphql(http: httpx.AsyncClient, name: str, password: str) -> int:
    r = await http.post("/graphql", json={"query": LOGIN, "variables": {"n": name, "p": password}})
    errors = r.json().get("errors") or [{}]
    return GQL_STATUS[errors[0].get("extensions", {}).get("code")]


@pytest.mark.parametrize("api", [rest, graphql])
async def test_parallel_wrong_passwords_are_not_all_tried(settings: Settings, api: Any) -> None:
    async with running(tuned(settings, login_failures_per_user=5)) as served:
        http = await served.client("203.0.113.7")
        outcomes = await asyncio.gather(*[api(http, "alice", "wrong guess!") for _ in range(12)])
        assert Counter(outcomes) == {401: 5, 429: 7}
        assert await api(http, "alice", RIGHT) == 429  # this source is done with alice


async def test_the_right_password_works_from_a_clean_source(settings: Settings) -> None:
    limits = tuned(settings, login_failures_per_user=3, login_failures_per_user_total=6)
    async with running(limits) as served:
        attacker = await served.client("198.51.100.1")
        for _ in range(3):
            assert await rest(attacker, "alice", "wrong guess!") == 401
        assert await rest(attacker, "alice", RIGHT) == 429
        assert await graphql(attacker, "alice", RIGHT) == 429
        owner = await served.client("192.0.2.10")
        assert await rest(owner, "alice", RIGHT) == 200
        assert await graphql(owner, "alice", RIGHT) == 200
        # many sources push alice over her total: sources with a failure must wait, a
        # source without one still gets in with the right password
        for n in range(2, 5):
            bot = await served.client(f"198.51.100.{n}")
            assert await rest(bot, "alice", "wrong guess!") == 401
        typo = await served.client("192.0.2.20")
        assert await rest(typo, "alice", "wrong guess!") == 401  # alice's 6th failure
        assert await rest(typo, "alice", RIGHT) == 429
        assert await rest(await served.client("192.0.2.30"), "alice", RIGHT) == 200
        assert await rest(typo, "bob", RIGHT) == 200  # other names are not affected


async def test_unknown_names_and_sources_cannot_grow_the_table(settings: Settings) -> None:
    async with running(tuned(settings, login_failures_per_address=10)) as served:
        http = await served.client("203.0.113.9")
        outcomes = [await rest(http, f"ghost-{n}", "wrong guess!") for n in range(60)]
        assert Counter(outcomes) == {401: 10, 429: 50}
        async with served.deps.db.read() as s:
            rows = (await s.exec(select(func.count()).select_from(LoginThrottle))).one()
        assert rows == 1 + 2 * 10  # the source, and a pair and a name per tried attempt
        async with served.deps.db.begin() as s:  # their windows end...
            await s.exec(update(LoginThrottle).values(expires_at=utcnow()))
        assert await logins.purge(served.deps) == rows  # ...and the rows go
        assert await rest(http, "alice", RIGHT) == 200


async def test_argon2_runs_in_bounded_slots(settings: Settings) -> None:
    busy = tuned(
        settings, login_max_concurrent=1, login_wait_seconds=0.01, login_failures_per_user=50
    )
    async with running(busy) as served:
        http = await served.client("203.0.113.11")
        outcomes = Counter(
            await asyncio.gather(*[rest(http, "alice", "nope nope") for _ in range(8)])
        )
        assert outcomes[503] > 0
        assert set(outcomes) <= {401, 503}
        r = await http.post("/v2/tokens", json={"name": "alice", "password": "nope nope"})
        assert r.status_code in (401, 503)
        async with served.deps.db.read() as s:
            rows = {row.kind: row.failures for row in (await s.exec(select(LoginThrottle))).all()}
        tried = outcomes[401] + (r.status_code == 401)
        assert rows["pair"] == tried  # a refused (503) attempt was never counted
        graphql_busy = Counter(
            await asyncio.gather(*[graphql(http, "bob", "nope nope") for _ in range(8)])
        )
        assert graphql_busy[503] > 0


@pytest.mark.parametrize("bad", ["ali\x00ce", "\ud800"])
async def test_login_refuses_text_no_database_stores(settings: Settings, bad: str) -> None:
    async with running(settings) as served:
        http = await served.client("203.0.113.12")
        body = json.dumps({"name": bad, "password": "x"})  # \u0000 / \ud800 escapes
        r = await http.post(
            "/v2/tokens", content=body, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400, r.text


async def test_two_server_processes_share_the_throttle(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    deps = build_deps(settings)
    try:
        await accounts.add_user(deps, "alice", RIGHT, project="P1", roles=["reader"])
    finally:
        await deps.db.dispose()
        await deps.stores.close()
    env = {
        "GLIMPSE_DATABASE_URL": database_url,
        "GLIMPSE_AUTH_LOGIN_FAILURES_PER_USER": "3",
        "GLIMPSE_TASKS_RUN_IN_PROCESS": "false",
    }
    first = start_server(tmp_path / "one", env=env)
    try:
        second = start_server(tmp_path / "two", env=env)
        try:
            async with httpx.AsyncClient() as http:
                servers = [first.url, second.url]
                statuses = []
                for n in range(6):  # alternate between the processes
                    r = await http.post(
                        f"{servers[n % 2]}/v2/tokens",
                        json={"name": "alice", "password": "wrong guess!"},
                    )
                    statuses.append(r.status_code)
                assert statuses == [401, 401, 401, 429, 429, 429]
                for url in servers:
                    r = await http.post(
                        f"{url}/v2/tokens", json={"name": "alice", "password": RIGHT}
                    )
                    assert r.status_code == 429
        finally:
            stop_server(second)
    finally:
        stop_server(first)
