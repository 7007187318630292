"""Per-project quotas: 413 in REST, QUOTA_EXCEEDED in GraphQL, and the usage report."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from glimpse.app import build_deps
from glimpse.core.config import Settings
from glimpse.core.errors import Forbidden
from glimpse.models.tables import Image, ImageLocation
from glimpse.resolvers import quotas
from glimpse.resolvers.quotas import MiB
from glimpse.rest_compat.routes import ROUTES
from tests.conftest import ctx, token
from tests.policy.helpers import client_for, gql, make_image, served, with_quotas

KiB = 1024
OCTET = {"Content-Type": "application/octet-stream"}


def _h(settings: Settings, project: str = "P1") -> dict[str, str]:
    return {"X-Auth-Token": token(settings, project, "member", "reader")}


async def _gql_code(http: Any, headers: dict[str, str], query: str, **v: Any) -> str | None:
    body = await gql(http, headers, query, **v)
    errors = body.get("errors")
    return errors[0]["extensions"]["code"] if errors else None


async def test_image_count(settings: Settings) -> None:
    limited = with_quotas(settings, image_count=2)
    create = 'mutation { createImage(input: {name: "g"}) { id } }'
    async with client_for(limited) as http:
        h = _h(limited)
        for _ in range(2):
            assert (await http.post("/v2/images", json={}, headers=h)).status_code == 201
        assert (await http.post("/v2/images", json={}, headers=h)).status_code == 413
        assert await _gql_code(http, h, create) == "QUOTA_EXCEEDED"
        assert await _gql_code(http, _h(limited, "P2"), create) is None  # per project


async def test_stored_bytes_cap_the_upload_stream(settings: Settings) -> None:
    limited = with_quotas(settings, image_size_total=1)  # MiB
    async with served(limited) as (http, deps):
        first, second, third = [await make_image(deps) for _ in range(3)]
        h = {**_h(limited), **OCTET}
        r = await http.put(f"/v2/images/{first}/file", content=b"a" * 600 * KiB, headers=h)
        assert r.status_code == 204
        second_id = second
        r = await http.put(f"/v2/images/{second_id}/file", content=b"b" * 600 * KiB, headers=h)
        assert r.status_code == 413
        announced = {**h, "x-openstack-image-size": str(5 * MiB)}
        third_id = third
        r = await http.put(f"/v2/images/{third_id}/file", content=b"c" * 10, headers=announced)
        assert r.status_code == 413
        async with deps.db.read() as s:
            refused = await s.get(Image, second_id)
            assert refused is not None
            assert (refused.status, refused.size) == ("queued", None)
            locations = (await s.exec(select(ImageLocation))).all()
            assert len(locations) == 1  # only the accepted upload left data behind
        r = await http.put(f"/v2/images/{second_id}/file", content=b"b" * 400 * KiB, headers=h)
        assert r.status_code == 204  # exactly the rest fits
        usage = await quotas.usage(deps, ctx("P1", "reader"))
        assert usage["image_size_total"] == {"limit": 1, "usage": 1}  # MiB, rounded up
        assert usage["image_count_total"] == {"limit": -1, "usage": 3}


async def test_per_image_counts(settings: Settings) -> None:
    limited = with_quotas(settings, tags_per_image=2, properties_per_image=1, members_per_image=1)
    async with served(limited) as (http, deps):
        h = _h(limited)
        image = await make_image(deps, tags=("a", "b"))
        assert (await http.put(f"/v2/images/{image}/tags/c", headers=h)).status_code == 413
        tag = 'mutation($id: ID!) { addImageTag(id: $id, tag: "c") { id } }'
        assert await _gql_code(http, h, tag, id=image) == "QUOTA_EXCEEDED"
        patch = [
            {"op": "add", "path": "/k1", "value": "v"},
            {"op": "add", "path": "/k2", "value": "v"},
        ]
        ctype = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
        r = await http.patch(f"/v2/images/{image}", json=patch, headers={**h, **ctype})
        assert r.status_code == 413
        props = (
            "mutation($id: ID!) { updateImage(id: $id, input: {setProperties: "
            '[{key: "k1", value: "v"}, {key: "k2", value: "v"}]}) { id } }'
        )
        assert await _gql_code(http, h, props, id=image) == "QUOTA_EXCEEDED"
        add = "mutation($id: ID!, $m: String!) { addImageMember(id: $id, member: $m) { memberId } }"
        assert await _gql_code(http, h, add, id=image, m="P2") is None
        assert await _gql_code(http, h, add, id=image, m="P3") == "QUOTA_EXCEEDED"
        if "/v2/images/{image_id}/members" in ROUTES:
            r = await http.post(f"/v2/images/{image}/members", json={"member": "P4"}, headers=h)
            assert r.status_code == 413


@pytest.mark.usefixtures("database_url")
async def test_usage_report(settings: Settings) -> None:
    limited = with_quotas(settings, image_size_total=10, image_stage_total=4, image_count=5)
    deps = build_deps(limited)
    try:
        staged = await make_image(deps)
        await make_image(deps, owner="P2")
        async with deps.db.begin() as s:
            row = await s.get(Image, staged)
            assert row is not None
            row.status = "uploading"
            s.add(row)
            meta = {"store": "local", "size": 3 * MiB}
            s.add(
                ImageLocation(image_id=staged, store="local", url="x", meta=meta, status="staging")
            )
        async with deps.db.read() as s:
            assert await quotas.stage_cap(deps, s, "P1", "other") == MiB
            assert await quotas.size_cap(deps, s, "P1", "other") == 10 * MiB
        usage = await quotas.usage(deps, ctx("P1", "reader"))
        assert usage == {
            "image_size_total": {"limit": 10, "usage": 0},
            "image_stage_total": {"limit": 4, "usage": 3},
            "image_count_total": {"limit": 5, "usage": 1},
            "image_count_uploading": {"limit": -1, "usage": 1},
        }
        with pytest.raises(Forbidden):  # get_usage: a reader of some project
            await quotas.usage(deps, ctx(None, "reader"))
    finally:
        await deps.db.dispose()
        await deps.stores.close()


async def test_usage_endpoint(settings: Settings) -> None:
    limited = with_quotas(settings, image_count=3)
    async with served(limited) as (http, deps):
        await make_image(deps)
        r = await http.get("/v2/info/usage", headers=_h(limited))
        assert r.status_code == 200
        assert r.json()["usage"]["image_count_total"] == {"limit": 3, "usage": 1}
        assert (await http.get("/v2/info/usage")).status_code == 401
        no_project = {"X-Auth-Token": token(limited, None, "reader")}
        assert (await http.get("/v2/info/usage", headers=no_project)).status_code == 403


async def test_staging_is_capped_by_the_stage_quota(settings: Settings) -> None:
    limited = with_quotas(settings, image_stage_total=1)  # MiB
    async with served(limited) as (http, deps):
        first, second = [await make_image(deps) for _ in range(2)]
        h = {**_h(limited), **OCTET}
        assert (
            await http.put(f"/v2/images/{first}/stage", content=b"a" * 700 * KiB, headers=h)
        ).status_code == 204
        r = await http.put(f"/v2/images/{second}/stage", content=b"b" * 700 * KiB, headers=h)
        assert r.status_code == 413
        usage = await quotas.usage(deps, ctx("P1", "reader"))
        assert usage["image_stage_total"]["usage"] == 1  # 700 KiB, in MiB rounded up
        async with deps.db.read() as s:
            refused = await s.get(Image, second)
            assert refused is not None
            assert refused.status == "queued"
        r = await http.put(f"/v2/images/{second}/stage", content=b"b" * 300 * KiB, headers=h)
        assert r.status_code == 204
