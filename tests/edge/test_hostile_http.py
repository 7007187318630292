"""Hostile input at the HTTP layer, against a live server on SQLite and on PostgreSQL.

Every malformed request gets a 4xx (or, where the HTTP server itself gives up, a closed
connection), never a 500, and nothing is created or half-created. Some of these are
answered by granian before the application runs: they are sent over a raw socket.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from tests.edge.rawhttp import exchange, head

JSON = "application/json"
PATCH = "application/openstack-images-v2.1-json-patch"


@pytest.fixture
def api(live_db: LiveServer) -> Iterator[httpx.Client]:
    headers = {"X-Auth-Token": live_db.token("P1"), "Accept": JSON}
    with httpx.Client(base_url=live_db.url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def admin(live_db: LiveServer) -> Iterator[httpx.Client]:
    headers = {"X-Auth-Token": live_db.token("admin", "admin", "member", "reader")}
    with httpx.Client(base_url=live_db.url, headers=headers, timeout=30) as client:
        yield client


def _image_names(api: httpx.Client) -> set[str]:
    r = api.get("/v2/images", params={"limit": 1000})
    assert r.status_code == 200
    return {i["name"] for i in r.json()["images"]}


def _namespaces(admin: httpx.Client) -> set[str]:
    r = admin.get("/v2/metadefs/namespaces", params={"limit": 1000})
    assert r.status_code == 200
    return {n["namespace"] for n in r.json()["namespaces"]}


def _send(client: httpx.Client, method: str, path: str, raw: bytes, ctype: str = JSON) -> int:
    r = client.request(method, path, content=raw, headers={"Content-Type": ctype})
    assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
    return r.status_code


@pytest.fixture
def image_id(api: httpx.Client) -> str:
    r = api.post("/v2/images", json={"name": "target", "visibility": "shared"})
    assert r.status_code == 201
    image_id: str = r.json()["id"]
    return image_id


# ------------------------------------------------------------------ bodies: unicode, numbers

BAD_VALUES = {
    "surrogate": b'"a\\ud800b"',
    "low-surrogate": b'"\\udc00"',
    "nul": b'"a\\u0000b"',
}


@pytest.mark.parametrize("bad", list(BAD_VALUES))
def test_invalid_unicode_in_bodies_is_400_and_creates_nothing(
    api: httpx.Client, admin: httpx.Client, image_id: str, bad: str
) -> None:
    value = BAD_VALUES[bad]
    before_images, before_ns = _image_names(api), _namespaces(admin)
    cases: list[tuple[httpx.Client, str, str, bytes, str]] = [
        (api, "POST", "/v2/images", b'{"name": ' + value + b"}", JSON),
        (api, "POST", "/v2/images", b'{"name": "x", "tags": [' + value + b"]}", JSON),
        (api, "POST", "/v2/images", b'{"name": "x", ' + value + b': "v"}', JSON),
        (api, "POST", "/v2/images", b'{"name": "x", "os_distro": ' + value + b"}", JSON),
        (api, "PATCH", f"/v2/images/{image_id}",
         b'[{"op": "add", "path": "/k", "value": ' + value + b"}]", PATCH),
        (api, "PATCH", f"/v2/images/{image_id}",
         b'[{"op": "add", "path": "/k\\u0000", "value": "v"}]', PATCH),
        (api, "POST", f"/v2/images/{image_id}/members", b'{"member": ' + value + b"}", JSON),
        (admin, "POST", "/v2/metadefs/namespaces", b'{"namespace": ' + value + b"}", JSON),
        (api, "POST", "/v2/tokens", b'{"name": ' + value + b', "password": "x"}', JSON),
    ]  # fmt: skip
    for client, method, path, raw, ctype in cases:
        assert _send(client, method, path, raw, ctype) == 400, (method, path, raw)
    assert _image_names(api) == before_images
    assert _namespaces(admin) == before_ns
    assert api.get(f"/v2/images/{image_id}/members").json()["members"] == []
    assert "k" not in api.get(f"/v2/images/{image_id}").json()


@pytest.mark.parametrize(
    "segment",
    ["%00", "a%00b", "%ED%A0%80", "%FF", "%C0%AF"],
    ids=["nul", "inner-nul", "utf8-surrogate", "not-utf8", "overlong-slash"],
)
def test_invalid_unicode_in_path_segments_is_400(
    api: httpx.Client, admin: httpx.Client, image_id: str, segment: str
) -> None:
    for client, method, path in [
        (api, "PUT", f"/v2/images/{image_id}/tags/{segment}"),
        (api, "DELETE", f"/v2/images/{image_id}/tags/{segment}"),
        (api, "GET", f"/v2/images/{image_id}/members/{segment}"),
        (api, "PUT", f"/v2/images/{image_id}/members/{segment}"),
        (api, "GET", f"/v2/images/{segment}"),
        (admin, "GET", f"/v2/metadefs/namespaces/{segment}"),
        (admin, "DELETE", f"/v2/metadefs/namespaces/{segment}"),
        (api, "GET", f"/v2/images?name={segment}"),
        (api, "GET", f"/v2/images?tag={segment}"),
    ]:
        r = client.request(method, path)
        assert r.status_code == 400, (method, path, r.status_code, r.text[:200])
    assert api.get(f"/v2/images/{image_id}").json()["tags"] == []


@pytest.mark.parametrize(
    "query",
    [
        "size_min=99999999999999999999",
        "size_max=-99999999999999999999",
        "size_min=1e30",
        "limit=-5",
        "marker=99999999999999999999",
        "sort_key=size&sort_dir=asc&size_min=9223372036854775808",
    ],
)
def test_integers_past_64_bits_in_filters_are_400(api: httpx.Client, query: str) -> None:
    """(A huge ``limit`` is clamped to the page maximum, as Glance does: not listed.)"""
    r = api.get(f"/v2/images?{query}")
    assert r.status_code == 400, (query, r.status_code, r.text[:300])


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "x", "min_disk": 99999999999999999999}',
        b'{"name": "x", "min_ram": -99999999999999999999}',
        b'{"name": "x", "min_disk": 1e400}',
        b'{"name": "x", "min_disk": 18446744073709551616}',
    ],
)
def test_integers_past_64_bits_in_inputs_are_400(api: httpx.Client, raw: bytes) -> None:
    before = _image_names(api)
    assert _send(api, "POST", "/v2/images", raw) == 400
    assert _image_names(api) == before


def test_json_nested_thousands_deep_is_400(
    api: httpx.Client, admin: httpx.Client, image_id: str
) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    deep_object = b'{"name": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"}"
    for client, method, path, raw, ctype in [
        (api, "POST", "/v2/images", deep, JSON),
        (api, "POST", "/v2/images", deep_object, JSON),
        (api, "PATCH", f"/v2/images/{image_id}", deep, PATCH),
        (api, "POST", f"/v2/images/{image_id}/members", deep_object, JSON),
        (admin, "POST", "/v2/metadefs/namespaces", deep_object, JSON),
        (api, "POST", "/v2/tokens", deep, JSON),
        (api, "POST", "/v2/tasks", deep_object, JSON),
    ]:
        assert _send(client, method, path, raw, ctype) == 400, (method, path)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "text/json"])
def test_bodies_declared_as_another_type_are_415(
    api: httpx.Client, admin: httpx.Client, image_id: str, ctype: str
) -> None:
    before = _image_names(api)
    body = json.dumps({"name": "typed"}).encode()
    for client, method, path in [
        (api, "POST", "/v2/images"),
        (api, "PUT", f"/v2/images/{image_id}"),
        (api, "PATCH", f"/v2/images/{image_id}"),
        (api, "POST", f"/v2/images/{image_id}/members"),
        (admin, "POST", "/v2/metadefs/namespaces"),
        (api, "POST", "/v2/tokens"),
        (api, "POST", "/graphql"),
    ]:
        assert _send(client, method, path, body, ctype) == 415, (method, path)
    assert _image_names(api) == before


# ------------------------------------------------------------------ paths and names


def test_encoded_slashes_in_path_segments_are_clean_4xx(
    api: httpx.Client, admin: httpx.Client, image_id: str
) -> None:
    for client, method, path in [
        (api, "GET", f"/v2/images/{image_id}%2Ffile"),
        (api, "GET", "/v2/images/..%2F..%2Fetc%2Fpasswd"),
        (api, "PUT", f"/v2/images/{image_id}/tags/a%2Fb"),
        (api, "DELETE", f"/v2/images/{image_id}/members/P2%2F..%2FP3"),
        (admin, "GET", "/v2/metadefs/namespaces/a%2Fb"),
        (admin, "GET", "/v2/metadefs/namespaces/%2E%2E"),
    ]:
        r = client.request(method, path)
        assert r.status_code in (400, 404, 405), (method, path, r.status_code)
    assert api.get(f"/v2/images/{image_id}").json()["tags"] == []


@pytest.mark.parametrize("name", ["..", ".", "a/b", "/", "../../etc"])
def test_metadef_namespace_that_cannot_be_addressed_is_refused(
    admin: httpx.Client, name: str
) -> None:
    before = _namespaces(admin)
    r = admin.post("/v2/metadefs/namespaces", json={"namespace": name})
    assert r.status_code == 400, r.text
    assert _namespaces(admin) == before


# ------------------------------------------------------------------ framing (raw socket)


def _auth(server: LiveServer) -> dict[str, str]:
    return {"X-Auth-Token": server.token("P1"), "Content-Type": JSON}


BODY = b'{"name": "framed"}'


def _framing_cases(server: LiveServer) -> dict[str, tuple[bytes, bool]]:
    """name -> (raw request, whether our side is shut down after sending it)."""
    a = _auth(server)
    chunk = b"%x\r\n%b\r\n" % (len(BODY), BODY)
    return {
        "ends-before-declared-length": (
            head("POST", "/v2/images", {**a, "Content-Length": "200"}) + BODY,
            True,
        ),
        "chunked-cut-mid-object": (
            head("POST", "/v2/images", {**a, "Transfer-Encoding": "chunked"})
            + b"a\r\n" + BODY[:10] + b"\r\n",
            True,
        ),
        "chunked-without-last-chunk": (
            head("POST", "/v2/images", {**a, "Transfer-Encoding": "chunked"}) + chunk,
            True,
        ),
        "two-content-lengths": (
            head("POST", "/v2/images", {**a, "Content-Length": "5"}).replace(
                b"\r\n\r\n", b"\r\nContent-Length: %d\r\n\r\n" % len(BODY)
            ) + BODY,
            False,
        ),
        "negative-content-length": (
            head("POST", "/v2/images", {**a, "Content-Length": "-1"}) + BODY,
            False,
        ),
        "unknown-transfer-coding": (
            head("POST", "/v2/images", {**a, "Transfer-Encoding": "gzip, chunked"})
            + chunk + b"0\r\n\r\n",
            False,
        ),
        "oversized-header": (
            head("GET", "/v2/images", {**a, "X-Padding": "p" * 200_000}),
            False,
        ),
        "too-many-headers": (
            head("GET", "/v2/images", {**a, **{f"X-H{i}": "v" for i in range(300)}}),
            False,
        ),
        "http11-without-host": (
            head("POST", "/v2/images", {**a, "Content-Length": str(len(BODY))}, host=None) + BODY,
            False,
        ),
        "garbage-request-line": (b"POST /v2/images HTTP/1.1 extra\r\nHost: x\r\n\r\n", False),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [
        "ends-before-declared-length",
        "chunked-cut-mid-object",
        "chunked-without-last-chunk",
        "two-content-lengths",
        "negative-content-length",
        "unknown-transfer-coding",
        "oversized-header",
        "too-many-headers",
        "http11-without-host",
        "garbage-request-line",
    ],
)
def test_broken_framing_is_4xx_or_closed_and_creates_nothing(
    live_db: LiveServer, api: httpx.Client, case: str
) -> None:
    request, half_close = _framing_cases(live_db)[case]
    before = _image_names(api)
    r = exchange(live_db.url, request, half_close=half_close, timeout=30)
    assert r.status == 0 or 400 <= r.status < 500, (case, r.head)
    assert _image_names(api) == before


def test_content_length_with_chunked_is_framed_once(live_db: LiveServer, api: httpx.Client) -> None:
    """``Content-Length`` with ``Transfer-Encoding: chunked``: granian applies RFC 9112
    §6.3 before the application sees the request (the chunked framing wins and the length
    is dropped), so this one is not refused; the body is framed one way only. A length
    that would cut the body short does not make the rest a second request."""
    body = BODY + b" " * 50
    chunked = b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)
    request = head(
        "POST",
        "/v2/images",
        {**_auth(live_db), "Content-Length": "3", "Transfer-Encoding": "chunked"},
    )
    r = exchange(live_db.url, request + chunked, half_close=True)
    assert r.status in (0, 201) or 400 <= r.status < 500, r.head
    assert r.head.count("HTTP/1.1 ") <= 1
    if r.status == 201:
        assert json.loads(r.body)["name"] == "framed"  # the whole chunked body, once
