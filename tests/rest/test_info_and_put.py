"""``/v2/info/*`` (spec §1.5, §1.6, §1.15) and the original ``PUT /v2/images/{id}`` form."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from glimpse.app import create_app
from glimpse.core.config import Settings, StoreConfig
from tests.conftest import token
from tests.rest.conftest import Api


async def test_import_info(api: Api) -> None:
    body = (await api.get("/v2/info/import")).json()
    assert body == {
        "import-methods": {
            "description": "Import methods available.",
            "type": "array",
            "value": ["glance-direct", "web-download", "copy-image"],
        }
    }


async def test_stores_are_404_without_multi_store(api: Api) -> None:
    assert (await api.get("/v2/info/stores")).status_code == 404
    assert (await api.get("/v2/info/stores/detail", who="admin")).status_code == 404


async def test_usage_without_limits_is_empty(api: Api) -> None:
    assert (await api.get("/v2/info/usage")).json() == {"usage": {}}
    assert (await api.get("/v2/info/usage", who="noproject")).status_code == 403


@pytest.fixture
def limited(settings: Settings, tmp_path: Path) -> Settings:
    stores = (
        StoreConfig(name="fast", type="memory", description="RAM"),
        StoreConfig(name="slow", type="filesystem", read_only=True,
                    options={"path": str(tmp_path / "slow")}),
    )  # fmt: skip
    quotas = replace(settings.quotas, image_count=10, image_size_total=100)
    return replace(settings, stores=stores, default_store="fast", quotas=quotas)


async def test_usage_and_stores_when_configured(limited: Settings) -> None:
    app = create_app(limited)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            api = Api(http, limited)
            for _ in range(2):
                image = await api.create(disk_format="raw", container_format="bare")
            assert (await api.upload(image["id"], b"x" * (3 * 1024 * 1024))).status_code == 204
            usage = (await api.get("/v2/info/usage")).json()["usage"]
            assert usage["image_count_total"] == {"limit": 10, "usage": 2}
            assert usage["image_size_total"] == {"limit": 100, "usage": 3}
            assert set(usage) == {
                "image_count_total", "image_size_total", "image_stage_total",
                "image_count_uploading",
            }  # fmt: skip
            stores = (await api.get("/v2/info/stores")).json()["stores"]
            assert stores == [
                {"id": "fast", "description": "RAM", "default": "true"},
                {"id": "slow", "read-only": "true"},
            ]
            assert (await api.get("/v2/info/stores/detail")).status_code == 403
            detail = (await api.get("/v2/info/stores/detail", who="admin")).json()["stores"]
            assert detail[0]["type"] == "memory"
            created = await http.post(
                "/v2/images", json={}, headers={"X-Auth-Token": token(limited, "P1", "member")}
            )
            assert created.headers["openstack-image-store-ids"] == "fast,slow"


async def test_put_merges_changes(api: Api) -> None:
    image = await api.create(name="orig", keep="k", drop="d", tags=["a"])
    url = f"/v2/images/{image['id']}"
    r = await api.request(
        "PUT", url, json={"name": "new", "min_ram": 256, "added": "v", "drop": None, "gone": None}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["min_ram"], body["added"], body["keep"]) == ("new", 256, "v", "k")
    assert "drop" not in body
    assert body["tags"] == ["a"]
    assert body == (await api.get(url)).json()
    r = await api.request("PUT", url, json={"tags": ["b", "c"]})
    assert r.json()["tags"] == ["b", "c"]


async def test_put_rules(api: Api) -> None:
    image = await api.create(name="orig")
    url = f"/v2/images/{image['id']}"
    cases = [
        ({"status": "active"}, "p1", 403),
        ({"os_glance_x": "1"}, "p1", 403),
        ({"self": "x"}, "p1", 403),
        ({"visibility": "public"}, "p1", 403),
        ({"min_ram": -1}, "p1", 400),
        ({"custom": 5}, "p1", 400),
        ([{"op": "replace"}], "p1", 400),
        ("text", "p1", 400),
        ({"name": "x"}, "p2", 404),
        ({"name": "x"}, "p1_reader", 403),
        ({}, "p1", 200),
    ]
    wrong = []
    for body, who, expected in cases:
        r = await api.request("PUT", url, who=who, json=body)
        if r.status_code != expected:
            wrong.append((body, who, expected, r.status_code))
    assert wrong == []
    assert (await api.get(url)).json()["name"] == "orig"
