"""Browser tests of the /ui console: a real ``glimpse serve`` and Debian's headless Chromium.

Playwright is driven with its async API inside the tests' own event loop (one browser per
test), so these tests mix with the rest of the async suite without loop-scope changes.
Each test saves a screenshot to ``artifacts/screenshots/`` (gitignored) for a human look.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import LiveServer, need_service, running_server

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """One real server per test module (SQLite + filesystem store, granian)."""
    with running_server("glimpse-web-") as srv:
        yield srv


@pytest_asyncio.fixture
async def chromium() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        need_service("playwright", "pip install playwright")
    if not HAVE_CHROMIUM:
        need_service("Chromium", f"{CHROMIUM} missing (apt-get install chromium)")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest_asyncio.fixture
async def tab(chromium: Any, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A fresh tab at 1280 px; console errors fail the test; a screenshot is saved at the end."""
    context = await chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    pg = await context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    pg.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    pg.problems = problems
    try:
        yield pg
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        await pg.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
        await context.close()
    # Expected failures (e.g. a refused token) log a failed resource load; nothing else may.
    unexpected = [p for p in problems if "Failed to load resource" not in p]
    assert not unexpected, unexpected


def gql(
    server: LiveServer,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """Set-up and verification through the API (the console is what is under test)."""
    r = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token or server.token()}"},
        timeout=30,
    )
    body = r.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def make_image(server: LiveServer, token: str | None = None, **fields: Any) -> dict[str, Any]:
    query = "mutation($i: CreateImageInput!) { createImage(input: $i) { id name links { file } } }"
    img: dict[str, Any] = gql(server, query, {"i": fields}, token)["createImage"]
    return img


def upload(
    server: LiveServer, image: dict[str, Any], data: bytes, token: str | None = None
) -> None:
    r = httpx.put(
        image["links"]["file"]
        if image["links"]["file"].startswith("http")
        else f"{server.url}{image['links']['file']}",
        content=data,
        headers={
            "Authorization": f"Bearer {token or server.token()}",
            "Content-Type": "application/octet-stream",
        },
        timeout=30,
    )
    assert r.status_code == 204, r.text


async def sign_in(page: Any, server: LiveServer, token: str | None = None, path: str = "") -> None:
    await page.goto(f"{server.url}/ui/{path}")
    await page.get_by_label("Access token").fill(token or server.token())
    await page.get_by_role("button", name="Sign in with token").click()
    await page.get_by_role("heading", name="Images", exact=True).wait_for()
