"""Edge cases a client meets, answered as Glance answers them (docs/compat.md lists them)."""

from __future__ import annotations

import pytest

from tests.rest.conftest import Api

DATA = b"0123456789abcdef"  # 16 bytes


async def _active(api: Api) -> str:
    image_id: str = (await api.create(name="x", disk_format="raw", container_format="bare"))["id"]
    assert (await api.upload(image_id, DATA)).status_code == 204
    return image_id


async def test_trailing_slash_is_404_not_a_redirect(api: Api) -> None:
    for path in ("/v2/images/", "/v2/schemas/image/", "/v2/info/import/"):
        r = await api.get(path, follow_redirects=False)
        assert r.status_code == 404, (path, r.status_code, r.headers.get("location"))


@pytest.mark.parametrize(
    "header",
    [
        {"Range": "bytes=10-5"},  # end before start
        {"Range": "bytes=abc"},
        {"Range": "bytes=-"},
        {"Range": "items=1-2"},
        {"Range": "bytes=16-"},  # starts past the end
        {"Content-Range": "bytes 10-30/16"},  # end past the stated total
        {"Content-Range": "bytes 5-3/16"},
        {"Content-Range": "bytes 10-16/*"},  # no total: the end must be inside the image
        {"Content-Range": "bytes 16-20/100"},  # starts past the end
        {"Content-Range": "garbage"},
    ],
)
async def test_unsatisfiable_or_invalid_ranges_are_416(api: Api, header: dict[str, str]) -> None:
    image_id = await _active(api)
    r = await api.get(f"/v2/images/{image_id}/file", headers=header)
    assert r.status_code == 416, r.text
    assert r.headers["Content-Range"] == "bytes */16"


async def test_range_checks_come_after_visibility(api: Api) -> None:
    """A bad range on an image the caller cannot see is still a 404."""
    image_id = await _active(api)
    r = await api.get(f"/v2/images/{image_id}/file", who="p2", headers={"Range": "bytes=9-1"})
    assert r.status_code == 404


async def test_several_ranges_are_400(api: Api) -> None:
    image_id = await _active(api)
    r = await api.get(f"/v2/images/{image_id}/file", headers={"Range": "bytes=0-1,4-5"})
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("header", "body", "answer"),
    [
        ({"Content-Range": "bytes 2-5/16"}, b"2345", "bytes 2-5/16"),
        ({"Content-Range": "bytes 12-15/*"}, b"cdef", "bytes 12-15/16"),
        ({"Content-Range": "bytes 10-40/100"}, b"abcdef", "bytes 10-15/16"),  # total > size
        ({"Range": "bytes=14-99"}, b"ef", "bytes 14-15/16"),
        ({"Range": "bytes=-3"}, b"def", "bytes 13-15/16"),
    ],
)
async def test_request_content_range_is_honoured(
    api: Api, header: dict[str, str], body: bytes, answer: str
) -> None:
    image_id = await _active(api)
    r = await api.get(f"/v2/images/{image_id}/file", headers=header)
    assert (r.status_code, r.content, r.headers["Content-Range"]) == (206, body, answer)


@pytest.mark.parametrize("visibility", ["private", "public", "community"])
async def test_members_api_needs_a_shared_image(api: Api, visibility: str) -> None:
    who = "admin" if visibility == "public" else "p1"
    image_id = (await api.create(who=who, name="m", visibility=visibility))["id"]
    base = f"/v2/images/{image_id}/members"
    assert (await api.request("POST", base, who=who, json={"member": "P2"})).status_code == 403
    assert (await api.get(base, who=who)).status_code == 403
    assert (await api.request("DELETE", f"{base}/P2", who=who)).status_code == 403
    assert (await api.get(f"{base}/P2", who=who)).status_code == 404


async def test_member_left_behind_on_a_private_image_cannot_be_deleted(api: Api) -> None:
    image_id = (await api.create(name="m"))["id"]  # shared by default
    base = f"/v2/images/{image_id}/members"
    assert (await api.request("POST", base, json={"member": "P2"})).status_code == 200
    r = await api.patch(image_id, [{"op": "replace", "path": "/visibility", "value": "private"}])
    assert r.status_code == 200
    assert (await api.request("DELETE", f"{base}/P2")).status_code == 403
    assert (await api.get(f"{base}/P2")).status_code == 404


@pytest.mark.parametrize(
    "method",
    [
        {"name": "web-download", "uri": "ftp://not-even-allowed/x"},
        {"name": "web-download", "uri": "http://127.0.0.1:1/x"},
        {"name": "glance-direct"},
    ],
)
async def test_import_into_an_active_image_is_409_before_the_uri(
    api: Api, method: dict[str, str]
) -> None:
    image_id = await _active(api)
    r = await api.request("POST", f"/v2/images/{image_id}/import", json={"method": method})
    assert r.status_code == 409, r.text


async def test_glance_direct_task_input_carries_the_import_request(api: Api) -> None:
    image_id = (await api.create(name="gd", disk_format="raw", container_format="bare"))["id"]
    staged = await api.request(
        "PUT",
        f"/v2/images/{image_id}/stage",
        content=DATA,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert staged.status_code == 204
    body = {"method": {"name": "glance-direct"}, "stores": ["local"]}
    r = await api.request("POST", f"/v2/images/{image_id}/import", json=body)
    assert r.status_code == 202, r.text
    tasks = (await api.get(f"/v2/images/{image_id}/tasks")).json()["tasks"]
    assert len(tasks) == 1
    task_input = tasks[0]["input"]
    assert task_input["image_id"] == image_id
    assert task_input["import_req"]["method"] == {"name": "glance-direct"}
    assert task_input["import_req"]["stores"] == ["local"]
    assert task_input["backend"] == ["local"]
