"""``PUT``/``GET /v2/images/{id}/file`` on the wire (spec §1.4)."""

from __future__ import annotations

import hashlib

from tests.rest.conftest import Api

DATA = bytes(range(256)) * 40  # 10 KiB, not a recognisable disk format


async def _active(api: Api) -> str:
    image_id: str = (await api.create(name="d", disk_format="raw", container_format="bare"))["id"]
    assert (await api.upload(image_id, DATA)).status_code == 204
    return image_id


async def test_upload_and_download(api: Api) -> None:
    image_id = await _active(api)
    body = (await api.get(f"/v2/images/{image_id}")).json()
    assert body["status"] == "active"
    assert body["size"] == len(DATA)
    assert body["checksum"] == hashlib.md5(DATA).hexdigest()
    assert body["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    r = await api.get(f"/v2/images/{image_id}/file")
    assert r.status_code == 200
    assert r.content == DATA
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-md5"] == body["checksum"]
    assert r.headers["content-length"] == str(len(DATA))


async def test_ranges(api: Api) -> None:
    image_id = await _active(api)
    url = f"/v2/images/{image_id}/file"
    cases = [
        ("bytes=0-9", 206, DATA[:10], f"bytes 0-9/{len(DATA)}"),
        ("bytes=100-", 206, DATA[100:], f"bytes 100-{len(DATA) - 1}/{len(DATA)}"),
        ("bytes=-5", 206, DATA[-5:], f"bytes {len(DATA) - 5}-{len(DATA) - 1}/{len(DATA)}"),
    ]
    for header, status, content, content_range in cases:
        r = await api.get(url, headers={"Range": header})
        assert (r.status_code, r.content) == (status, content), header
        assert r.headers["content-range"] == content_range
    assert (await api.get(url, headers={"Range": f"bytes={len(DATA)}-"})).status_code == 416
    assert (await api.get(url, headers={"Range": "bytes=0-1,5-6"})).status_code == 400
    # a Range that does not parse is 416, as in Glance (webob finds no range in it)
    assert (await api.get(url, headers={"Range": "lines=1-2"})).status_code == 416


async def test_upload_rules(api: Api) -> None:
    queued = (await api.create(name="q", disk_format="raw", container_format="bare"))["id"]
    url = f"/v2/images/{queued}/file"
    wrong_type = await api.request("PUT", url, content=DATA, headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    mismatch = await api.request(
        "PUT",
        url,
        content=DATA,
        headers={"Content-Type": "application/octet-stream", "x-openstack-image-size": "5"},
    )
    assert mismatch.status_code == 400
    assert (await api.get(f"/v2/images/{queued}")).json()["status"] == "queued"
    no_formats = (await api.create(name="nf"))["id"]
    assert (await api.upload(no_formats, DATA)).status_code == 400
    assert (await api.upload(queued, DATA, who="p2")).status_code == 404
    assert (await api.upload(queued, DATA)).status_code == 204
    assert (await api.upload(queued, DATA)).status_code == 409


async def test_download_rules(api: Api) -> None:
    queued = (await api.create(name="q"))["id"]
    r = await api.get(f"/v2/images/{queued}/file")
    assert r.status_code == 204
    assert r.content == b""
    image_id = await _active(api)
    await api.request("PUT", f"/v2/images/{image_id}", json={"visibility": "public"}, who="admin")
    assert (await api.get(f"/v2/images/{image_id}/file", who="p2")).status_code == 200
    assert (await api.get(f"/v2/images/{image_id}/file", who="p1_reader")).status_code == 403
    await api.request("POST", f"/v2/images/{image_id}/actions/deactivate")
    assert (await api.get(f"/v2/images/{image_id}/file")).status_code == 403
    assert (await api.get(f"/v2/images/{image_id}/file", who="admin")).status_code == 200
    await api.request("POST", f"/v2/images/{image_id}/actions/reactivate")
    assert (await api.get(f"/v2/images/{image_id}/file")).status_code == 200


async def test_actions_and_delete(api: Api) -> None:
    queued = (await api.create(name="q"))["id"]
    assert (await api.request("POST", f"/v2/images/{queued}/actions/deactivate")).status_code == 403
    image_id = await _active(api)
    for action, status in (("deactivate", "deactivated"), ("deactivate", "deactivated"),
                           ("reactivate", "active"), ("reactivate", "active")):  # fmt: skip
        r = await api.request("POST", f"/v2/images/{image_id}/actions/{action}")
        assert r.status_code == 204
        assert (await api.get(f"/v2/images/{image_id}")).json()["status"] == status
    r = await api.request("POST", f"/v2/images/{image_id}/actions/deactivate", who="p2")
    assert r.status_code == 404
    protected = (await api.create(name="p", protected=True))["id"]
    assert (await api.request("DELETE", f"/v2/images/{protected}")).status_code == 403
    assert (await api.request("DELETE", f"/v2/images/{image_id}", who="p2")).status_code == 404
    assert (await api.request("DELETE", f"/v2/images/{image_id}")).status_code == 204
    for url in (f"/v2/images/{image_id}", f"/v2/images/{image_id}/file"):
        assert (await api.get(url)).status_code == 404
    assert (await api.request("DELETE", f"/v2/images/{image_id}")).status_code == 404
