"""The request hot paths run a fixed, small number of SQL statements on each database.

These pin what the request-path work bought (glimpse/core/sql.py): a regression that brings
back a statement per relation, per image or per round trip fails here, on SQLite and on
PostgreSQL, without timing anything.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import counting
from tests.rest.conftest import Api

PATCH = "application/openstack-images-v2.1-json-patch"
BODY = {"name": "n", "disk_format": "raw", "container_format": "bare", "tags": ["a", "b"]}


def _expected(api: Api, sqlite: int, postgres: int) -> int:
    return sqlite if api.settings.effective_database_url.startswith("sqlite") else postgres


async def _count(app: Any, api: Api, method: str, url: str, **kw: Any) -> tuple[int, Any]:
    with counting(app) as counter:
        r = await api.request(method, url, **kw)
    assert r.status_code < 300, r.text
    return len(counter.statements), r


@pytest.fixture
async def seeded(api: Api) -> list[str]:
    ids = []
    for i in range(30):
        img = await api.create(name=f"i{i}", os_distro="ubuntu", hw_disk_bus="virtio", tags=["x"])
        ids.append(img["id"])
    return ids


async def test_get_one_image_is_one_statement(app: Any, api: Api, seeded: list[str]) -> None:
    n, r = await _count(app, api, "GET", f"/v2/images/{seeded[3]}")
    assert r.json()["os_distro"] == "ubuntu"
    assert n == 1


async def test_a_filtered_page_is_one_statement(app: Any, api: Api, seeded: list[str]) -> None:
    # SQLite first counts how common the property value is (one bounded index read).
    n, r = await _count(app, api, "GET", "/v2/images?limit=25&os_distro=ubuntu")
    assert len(r.json()["images"]) == 25
    assert n == _expected(api, sqlite=2, postgres=1)


async def test_create_is_one_statement_on_postgresql(app: Any, api: Api) -> None:
    body = {**BODY, "os_distro": "debian"}
    n, r = await _count(app, api, "POST", "/v2/images", json=body)
    assert r.json()["tags"] == ["a", "b"]
    # SQLite: image, properties, tags, event (no round trips there, one transaction).
    assert n == _expected(api, sqlite=4, postgres=1)


async def test_patch_is_four_statements(app: Any, api: Api, seeded: list[str]) -> None:
    ops = [{"op": "replace", "path": "/os_distro", "value": "debian"}]
    n, r = await _count(
        app,
        api,
        "PATCH",
        f"/v2/images/{seeded[0]}",
        content=json.dumps(ops),
        headers={"Content-Type": PATCH},
    )
    assert r.json()["os_distro"] == "debian"
    # The locked read, updated_at, the changed property, the event.
    assert n == 4


@pytest.mark.parametrize(
    "query",
    ["name=a%00b", "tag=x%00", "os_distro=u%00", "owner=P%001", "name=a%ED%A0%80"],
)
async def test_text_no_database_stores_in_a_filter_is_a_400(api: Api, query: str) -> None:
    """NUL (and bytes that are no Unicode) in list filters: PostgreSQL refuses NUL in text,
    which was a 500; both databases answer 400 before any SQL runs."""
    r = await api.get(f"/v2/images?{query}")
    assert r.status_code == 400, r.text
