"""Raw HTTP helpers for the Glance wire-format tests: one client, tokens per persona."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from glimpse.core.config import Settings
from tests.conftest import token

PERSONAS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "admin": ("admin", ("admin", "member", "reader")),
    "p1": ("P1", ("member", "reader")),
    "p1_reader": ("P1", ("reader",)),
    "p2": ("P2", ("member", "reader")),
    "p3": ("P3", ("member", "reader")),
    "p4": ("P4", ("member", "reader")),
    "noproject": (None, ("member", "reader")),
}


@dataclass
class Api:
    """``http`` plus tokens: ``await api.get("/v2/images", who="p2")``."""

    http: httpx.AsyncClient
    settings: Settings

    def auth(self, who: str = "p1") -> dict[str, str]:
        project, roles = PERSONAS[who]
        return {"X-Auth-Token": token(self.settings, project, *roles)}

    async def request(
        self, method: str, url: str, *, who: str | None = "p1", **kw: Any
    ) -> httpx.Response:
        headers = {**(self.auth(who) if who else {}), **kw.pop("headers", {})}
        return await self.http.request(method, url, headers=headers, **kw)

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("GET", url, **kw)

    async def create(self, who: str = "p1", **body: Any) -> dict[str, Any]:
        r = await self.request("POST", "/v2/images", who=who, json=body)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    async def patch(
        self, image_id: str, ops: Any, *, who: str = "p1", v20: bool = False
    ) -> httpx.Response:
        ctype = f"application/openstack-images-v2.{0 if v20 else 1}-json-patch"
        return await self.request(
            "PATCH",
            f"/v2/images/{image_id}",
            who=who,
            content=json.dumps(ops),
            headers={"Content-Type": ctype},
        )

    async def upload(self, image_id: str, data: bytes, who: str = "p1") -> httpx.Response:
        return await self.request(
            "PUT",
            f"/v2/images/{image_id}/file",
            who=who,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )


@pytest.fixture
def api(http: httpx.AsyncClient, settings: Settings) -> Api:
    return Api(http, settings)
