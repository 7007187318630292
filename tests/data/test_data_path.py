"""The data path: streamed upload with checksums, atomic failure handling, ranged download."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from glimpse.core.errors import Conflict, InvalidInput, PayloadTooLarge
from glimpse.resolvers import data, images
from glimpse.resolvers.images import ImageCreate
from tests.conftest import LiveServer, Personas, token

OCTET = {"Content-Type": "application/octet-stream"}


async def new_image(deps: Any, who: Any, **values: Any) -> str:
    rec = await images.create(
        deps,
        who,
        ImageCreate({"name": "d", "disk_format": "raw", "container_format": "bare", **values}),
    )
    return rec.image.id


async def chunks(
    payload: bytes, size: int = 65536, fail_at: int | None = None, delay: float = 0.0
) -> AsyncIterator[bytes]:
    for off in range(0, len(payload), size):
        if fail_at is not None and off >= fail_at:
            raise ConnectionResetError("client went away")
        if delay:
            await asyncio.sleep(delay)
        yield payload[off : off + size]


def blobs(settings: Any) -> list[Path]:
    root = Path(settings.effective_stores[0].options["path"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_upload_sets_checksums_and_becomes_active(deps: Any, personas: Personas) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    iid = await new_image(deps, personas.p1_member)
    rec = await data.upload(deps, personas.p1_member, iid, chunks(payload))
    i = rec.image
    assert i.status == "active"
    assert i.size == len(payload) == i.virtual_size
    assert i.checksum == hashlib.md5(payload).hexdigest()
    assert (i.os_hash_algo, i.os_hash_value) == ("sha512", hashlib.sha512(payload).hexdigest())
    assert rec.stores == ["local"]
    dl = await data.prepare_download(deps, personas.p1_member, iid)
    got = b"".join([c async for c in dl.chunks()])
    assert got == payload


@pytest.mark.parametrize("failure", ["client", "cap", "size-mismatch"])
async def test_failed_upload_restores_queued_and_leaves_no_blob(
    deps: Any, personas: Personas, failure: str
) -> None:
    from dataclasses import replace

    payload = os.urandom(2 * 1024 * 1024)
    who = personas.p1_member
    iid = await new_image(deps, who)
    expected = None
    source = chunks(payload)
    if failure == "client":
        source = chunks(payload, fail_at=1024 * 1024)
    elif failure == "cap":
        deps.settings = replace(deps.settings, max_image_size=1024 * 1024)
    else:
        expected = len(payload) + 1
    with pytest.raises((ConnectionResetError, PayloadTooLarge, InvalidInput)):
        await data.upload(deps, who, iid, source, expected_size=expected)
    rec = await images.get(deps, who, iid)
    assert rec.image.status == "queued"
    assert (rec.image.size, rec.image.checksum, rec.stores) == (None, None, [])
    assert blobs(deps.settings) == []
    # A retry works.
    deps.settings = replace(deps.settings, max_image_size=1 << 40)
    ok = await data.upload(deps, who, iid, chunks(payload))
    assert ok.image.status == "active"


async def test_cancelled_upload_is_cleaned_up(deps: Any, personas: Personas) -> None:
    who = personas.p1_member
    iid = await new_image(deps, who)
    task = asyncio.create_task(data.upload(deps, who, iid, chunks(os.urandom(4 << 20), delay=0.05)))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await images.get(deps, who, iid)).image.status == "queued"
    assert blobs(deps.settings) == []


async def test_only_one_upload_at_a_time(deps: Any, personas: Personas) -> None:
    who = personas.p1_member
    iid = await new_image(deps, who)
    slow = asyncio.create_task(data.upload(deps, who, iid, chunks(os.urandom(1 << 20), delay=0.02)))
    await asyncio.sleep(0.2)
    with pytest.raises(Conflict):
        await data.upload(deps, who, iid, chunks(b"second"))
    rec = await slow
    assert rec.image.status == "active"
    assert rec.image.size == 1 << 20
    with pytest.raises(Conflict):  # data can be uploaded once
        await data.upload(deps, who, iid, chunks(b"again"))


async def test_upload_needs_formats(deps: Any, personas: Personas) -> None:
    rec = await images.create(deps, personas.p1_member, ImageCreate({"name": "noformat"}))
    with pytest.raises(InvalidInput):
        await data.upload(deps, personas.p1_member, rec.image.id, chunks(b"x"))


async def test_delete_during_upload_leaves_nothing(deps: Any, personas: Personas) -> None:
    who = personas.p1_member
    iid = await new_image(deps, who)
    task = asyncio.create_task(data.upload(deps, who, iid, chunks(os.urandom(2 << 20), delay=0.02)))
    await asyncio.sleep(0.2)
    await images.delete(deps, who, iid)
    with pytest.raises(Exception, match="deleted"):
        await task
    assert blobs(deps.settings) == []


# ---------------------------------------------------------------------------- over HTTP


@pytest.fixture
def auth(settings: Any) -> dict[str, str]:
    return {"X-Auth-Token": token(settings, "P1", "member", "reader")}


async def _create(http: httpx.AsyncClient, auth: dict[str, str], **body: Any) -> str:
    r = await http.post(
        "/v2/images", json={"disk_format": "raw", "container_format": "bare", **body}, headers=auth
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_http_download_statuses(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    iid = await _create(http, auth)
    r = await http.get(f"/v2/images/{iid}/file", headers=auth)
    assert r.status_code == 204
    assert r.content == b""
    payload = bytes(range(256)) * 40
    r = await http.put(f"/v2/images/{iid}/file", content=payload, headers={**auth, **OCTET})
    assert r.status_code == 204, r.text
    r = await http.put(f"/v2/images/{iid}/file", content=b"x", headers={**auth, **OCTET})
    assert r.status_code == 409
    r = await http.get(f"/v2/images/{iid}/file", headers=auth)
    assert r.status_code == 200
    assert r.content == payload
    assert r.headers["content-md5"] == hashlib.md5(payload).hexdigest()
    cases = [
        ("bytes=0-9", 206, payload[:10], "bytes 0-9/10240"),
        ("bytes=10230-", 206, payload[10230:], "bytes 10230-10239/10240"),
        ("bytes=-5", 206, payload[-5:], "bytes 10235-10239/10240"),
        ("bytes=10000-99999", 206, payload[10000:], "bytes 10000-10239/10240"),
    ]
    for rng, status, body, content_range in cases:
        r = await http.get(f"/v2/images/{iid}/file", headers={**auth, "Range": rng})
        assert (r.status_code, r.content, r.headers["content-range"]) == (
            status,
            body,
            content_range,
        ), rng
    r = await http.get(f"/v2/images/{iid}/file", headers={**auth, "Range": "bytes=10240-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == "bytes */10240"
    r = await http.get(f"/v2/images/{iid}/file", headers={**auth, "Range": "bytes=0-1,4-5"})
    assert r.status_code == 400


async def test_http_upload_wrong_content_type(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    iid = await _create(http, auth)
    r = await http.put(
        f"/v2/images/{iid}/file", content=b"x", headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status_code == 415


async def test_http_size_header_mismatch(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    iid = await _create(http, auth)
    r = await http.put(
        f"/v2/images/{iid}/file",
        content=b"abc",
        headers={**auth, **OCTET, "x-openstack-image-size": "4"},
    )
    assert r.status_code == 400
    r = await http.get(f"/v2/images/{iid}", headers=auth)
    assert r.json()["status"] == "queued"


@pytest.mark.slow
def test_image_over_2_gib_end_to_end(live_server: LiveServer, tmp_path: Path) -> None:
    """A sparse 2.1 GiB file up and (ranged) down through a real server."""
    size = 2 * 1024**3 + 4096 * 3 + 5
    src = tmp_path / "sparse.raw"
    with open(src, "wb") as fh:
        fh.truncate(size)
        fh.seek(size - 5)
        fh.write(b"TAIL!")
    headers = {"X-Auth-Token": live_server.token("P1")}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=600) as c:
        iid = c.post(
            "/v2/images", json={"name": "big", "disk_format": "raw", "container_format": "bare"}
        ).json()["id"]

        def body() -> Any:
            with open(src, "rb") as fh:
                while block := fh.read(4 << 20):
                    yield block

        r = c.put(f"/v2/images/{iid}/file", content=body(), headers=OCTET)
        assert r.status_code == 204, r.text
        img = c.get(f"/v2/images/{iid}").json()
        assert img["size"] == size
        assert img["status"] == "active"
        r = c.get(f"/v2/images/{iid}/file", headers={"Range": f"bytes={size - 10}-"})
        assert r.status_code == 206
        assert r.content == b"\0" * 5 + b"TAIL!"
        gql = c.post("/graphql", json={"query": f'{{ image(id: "{iid}") {{ size }} }}'}).json()
        assert gql["data"]["image"]["size"] == size
        c.delete(f"/v2/images/{iid}")
