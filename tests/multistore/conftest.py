"""Two stores in one running service: ``local`` (filesystem, the default) and ``s3`` (a
moto server over real HTTP). ``client(...)`` builds the app with extra settings (cache,
redirects) and returns an httpx client over ASGI plus the app's dependencies."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from glimpse.core.config import CacheSettings, Settings, StoreConfig
from tests.conftest import make_settings, token


def two_stores(data_dir: Path, s3_endpoint: str) -> tuple[StoreConfig, ...]:
    return (
        StoreConfig(
            name="local",
            type="filesystem",
            description="Local disk",
            weight=0,
            options={"path": str(data_dir / "images")},
        ),
        StoreConfig(
            name="s3",
            type="s3",
            description="Object storage",
            weight=0,
            options={
                "endpoint_url": s3_endpoint,
                "bucket": f"glimpse-{uuid.uuid4().hex[:10]}",
                "access_key": "test",
                "secret_key": "test",
                "region": "us-east-1",
                "addressing_style": "path",
                "create_bucket": True,
            },
        ),
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str, s3_endpoint: str) -> Settings:
    data = tmp_path / "data"
    return make_settings(data, database_url, stores=two_stores(data, s3_endpoint))


def cache_on(settings: Settings, **options: Any) -> Settings:
    """``settings`` with the local cache enabled (``max_size`` etc. as given)."""
    return replace(settings, cache=CacheSettings(enabled=True, poll_seconds=0.1, **options))


@dataclass
class Client:
    http: httpx.AsyncClient
    app: Any
    settings: Settings

    @property
    def deps(self) -> Any:
        return self.app.state.deps

    def auth(self, project: str | None = "P1", *roles: str) -> dict[str, str]:
        tok = token(self.settings, project, *(roles or ("member", "reader")))
        return {"X-Auth-Token": tok}

    @property
    def admin(self) -> dict[str, str]:
        return self.auth("admin", "admin", "member", "reader")

    async def image_with_data(
        self, data: bytes, store: str | None = None, project: str = "P1"
    ) -> str:
        """Create an image of ``project`` and upload ``data`` (optionally to ``store``)."""
        h = self.auth(project)
        r = await self.http.post(
            "/v2/images",
            json={"name": "img", "disk_format": "raw", "container_format": "bare"},
            headers=h,
        )
        assert r.status_code == 201, r.text
        image_id: str = r.json()["id"]
        headers = {**h, "Content-Type": "application/octet-stream"}
        if store:
            headers["X-Image-Meta-Store"] = store
        r = await self.http.put(f"/v2/images/{image_id}/file", content=data, headers=headers)
        assert r.status_code == 204, r.text
        return image_id


MakeClient = Callable[..., Awaitable[Client]]


@pytest_asyncio.fixture
async def client_factory(settings: Settings) -> AsyncIterator[MakeClient]:
    """``await client_factory(settings=...)``: an app with those settings, closed at the end."""
    from glimpse.app import create_app

    async with AsyncExitStack() as stack:

        async def make(custom: Settings | None = None) -> Client:
            s = custom or settings
            app = create_app(s)
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://glimpse.test"
                )
            )
            return Client(http=http, app=app, settings=s)

        yield make


@pytest_asyncio.fixture
async def client(client_factory: MakeClient) -> Client:
    """Two stores, no cache, no redirects."""
    return await client_factory()
