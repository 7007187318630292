"""Downloads answered by a redirect to a presigned S3 URL, and the whole multi-store set-up
(GLIMPSE_STORES JSON, cache on) in a real ``glimpse serve`` process on granian."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from glimpse.core.config import DownloadSettings
from tests.conftest import LiveServer, start_server, stop_server
from tests.multistore.conftest import Client, MakeClient, two_stores

MiB = 1024 * 1024


@pytest.fixture
async def redirecting(client_factory: MakeClient) -> Client:
    base = (await client_factory()).settings
    return await client_factory(replace(base, downloads=DownloadSettings(redirect=True)))


async def test_s3_downloads_redirect_to_a_presigned_url(redirecting: Client) -> None:
    data = os.urandom(2 * MiB + 5)
    image_id = await redirecting.image_with_data(data, store="s3")
    h = redirecting.auth()
    r = await redirecting.http.get(f"/v2/images/{image_id}/file", headers=h)
    assert r.status_code == 302
    url = r.headers["location"]
    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=300" in url
    async with httpx.AsyncClient() as outside:  # the client goes to S3 directly
        got = await outside.get(url)
        assert got.status_code == 200
        assert got.content == data
        part = await outside.get(url, headers={"Range": "bytes=10-19"})
        assert part.status_code == 206
        assert part.content == data[10:20]
    # Policy still applies before any URL is handed out.
    r = await redirecting.http.get(f"/v2/images/{image_id}/file", headers=redirecting.auth("P2"))
    assert r.status_code == 404
    # Filesystem images have no URL to hand out: streamed as usual.
    local_id = await redirecting.image_with_data(b"on local disk")
    r = await redirecting.http.get(f"/v2/images/{local_id}/file", headers=h)
    assert r.status_code == 200
    assert r.content == b"on local disk"


@pytest.fixture
def live_multistore(moto_endpoint: str) -> Iterator[LiveServer]:
    root = Path(tempfile.mkdtemp(prefix="glimpse-ms-"))
    data = root / "data"
    stores = []
    for config in two_stores(data, moto_endpoint):
        stores.append({"name": config.name, "type": config.type, **config.options})
    env = {
        "GLIMPSE_STORES": json.dumps(stores),
        "GLIMPSE_DEFAULT_STORE": "local",
        "GLIMPSE_CACHE_ENABLED": "true",
        "GLIMPSE_CACHE_MAX_SIZE": str(64 * MiB),
    }
    data.mkdir(parents=True)
    server = start_server(data, env=env)
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(root, ignore_errors=True)


def test_live_server_with_two_stores_and_cache(live_multistore: LiveServer) -> None:
    srv = live_multistore
    member = {"X-Auth-Token": srv.token("P1", "member", "reader")}
    admin = {"X-Auth-Token": srv.token("admin", "admin", "member", "reader")}
    data = os.urandom(9 * MiB + 1)
    with httpx.Client(base_url=srv.url, timeout=60) as http:
        ids = [v["id"] for v in http.get("/versions").json()["versions"]]
        assert ids[0] == "v2.18"
        assert "v2.13" in ids
        r = http.post(
            "/v2/images",
            json={"name": "x", "disk_format": "raw", "container_format": "bare"},
            headers=member,
        )
        image_id = r.json()["id"]
        r = http.put(
            f"/v2/images/{image_id}/file",
            content=data,
            headers={
                **member,
                "Content-Type": "application/octet-stream",
                "X-Image-Meta-Store": "s3",
            },
        )
        assert r.status_code == 204, r.text
        assert http.get(f"/v2/images/{image_id}", headers=member).json()["stores"] == "s3"
        for _ in range(2):  # fill, then hit
            r = http.get(f"/v2/images/{image_id}/file", headers=member)
            assert r.status_code == 200
            assert r.content == data
        [entry] = http.get("/v2/cache", headers=admin).json()["cached_images"]
        assert (entry["image_id"], entry["size"], entry["hits"]) == (image_id, len(data), 1)
        stores = http.get("/v2/info/stores", headers=member).json()["stores"]
        assert [s["id"] for s in stores] == ["local", "s3"]
