"""Fixtures of the regression tests of the review findings (issue 17, operation layer).

Most tests run the whole app in-process on both databases, with a fast task runner and a
loopback file server that the web-download filter accepts only because these settings say
so (``allow_private_addresses``); the SSRF tests turn that off again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from tests.conftest import make_settings
from tests.tasks.conftest import FAST_TASKS, LOOPBACK_IMPORTS, file_server, two_stores

__all__ = ["file_server"]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path / "data",
        database_url,
        stores=two_stores(tmp_path / "stores"),
        tasks=FAST_TASKS,
        imports=LOOPBACK_IMPORTS,
    )


async def eventually(
    check: Callable[[], Awaitable[Any]], *, seconds: float = 30, what: str = "condition"
) -> Any:
    """Poll ``check`` until it returns something truthy, failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds} s")


async def gql_data(
    http: httpx.AsyncClient, h: dict[str, str], query: str, **variables: Any
) -> dict[str, Any]:
    r = await http.post("/graphql", json={"query": query, "variables": variables}, headers=h)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def gql_code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None
