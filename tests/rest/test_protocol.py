"""Cross-cutting protocol rules (spec §1.0, §1.1, §4.1): discovery, request ids, 401/405,
body rejection, error negotiation, odd client headers, URL encoding, version aliases."""

from __future__ import annotations

import re

from tests.rest.conftest import Api

RID = re.compile(r"^req-[0-9a-f-]{36}$")
MISSING = "/v2/images/00000000-0000-0000-0000-000000000000"


async def test_versions_documents(api: Api) -> None:
    root = await api.get("/", who=None)
    versions = await api.get("/versions", who=None)
    assert root.status_code == 300
    assert versions.status_code == 200
    assert root.json() == versions.json()
    entries = versions.json()["versions"]
    ids = [e["id"] for e in entries]
    assert ids[0] == "v2.15"
    assert {"v2.0", "v2.1", "v2.3", "v2.5", "v2.7", "v2.12"} <= set(ids)
    assert "v2.17" not in ids  # the new location API is not served
    assert [e["status"] for e in entries if e["status"] == "CURRENT"] == ["CURRENT"]
    assert entries[0]["status"] == "CURRENT"
    for e in entries:
        assert e["links"] == [{"rel": "self", "href": "http://glimpse.test/v2/"}]


async def test_versioned_aliases_and_unknown_prefixes(api: Api) -> None:
    image = await api.create(name="alias")
    for prefix in ("/v2", "/v2.0", "/v2.7"):
        r = await api.get(f"{prefix}/images/{image['id']}")
        assert r.status_code == 200, prefix
    assert (await api.get("/v2/")).status_code == 404
    assert (await api.get("/v2")).status_code == 404


async def test_request_ids(api: Api) -> None:
    for url, who in (("/versions", None), ("/v2/images", "p1"), (MISSING, "p1")):
        r = await api.get(url, who=who)
        assert RID.match(r.headers["x-openstack-request-id"]), url
    mine = "req-12345678-1234-1234-1234-123456789abc"
    r = await api.get("/v2/images", headers={"X-Openstack-Request-ID": mine})
    assert r.headers["x-openstack-request-id"] == mine
    r = await api.get("/v2/images", headers={"X-Openstack-Request-ID": "x" * 80})
    assert RID.match(r.headers["x-openstack-request-id"])
    assert r.headers["x-openstack-request-id"] != "x" * 80


async def test_authentication(api: Api) -> None:
    for method, url in (("GET", "/v2/images"), ("POST", "/v2/images"), ("GET", MISSING)):
        r = await api.request(method, url, who=None)
        assert r.status_code == 401, url
    bad = await api.get("/v2/images", who=None, headers={"X-Auth-Token": "garbage"})
    assert bad.status_code == 401
    assert "www-authenticate" in bad.headers
    # documentation is public
    assert (await api.get("/v2/openapi.json", who=None)).status_code == 200
    assert (await api.get("/v2/docs", who=None)).status_code == 200


async def test_wrong_method_is_405_with_allow(api: Api) -> None:
    image = await api.create()
    i = image["id"]
    cases = {
        ("DELETE", "/v2/images"): {"GET", "POST"},
        ("POST", f"/v2/images/{i}"): {"GET", "PATCH", "PUT", "DELETE"},
        ("POST", f"/v2/images/{i}/file"): {"GET", "PUT"},
        ("GET", f"/v2/images/{i}/tags/t"): {"PUT", "DELETE"},
        ("GET", f"/v2/images/{i}/actions/deactivate"): {"POST"},
        ("PATCH", f"/v2/images/{i}/members"): {"GET", "POST"},
        ("POST", "/v2/schemas/image"): {"GET"},
        ("DELETE", "/v2/info/usage"): {"GET"},
    }
    for (method, url), allowed in cases.items():
        r = await api.request(method, url)
        assert r.status_code == 405, url
        assert {m.strip() for m in r.headers["allow"].split(",")} == allowed, url


async def test_body_on_bodiless_routes_is_400(api: Api) -> None:
    image = await api.create()
    i = image["id"]
    for method, url in (
        ("GET", f"/v2/images/{i}"),
        ("DELETE", f"/v2/images/{i}"),
        ("GET", f"/v2/images/{i}/file"),
        ("PUT", f"/v2/images/{i}/tags/t"),
        ("POST", f"/v2/images/{i}/actions/deactivate"),
        ("GET", f"/v2/images/{i}/members"),
        ("GET", "/v2/schemas/image"),
        ("GET", "/v2/info/import"),
    ):
        r = await api.request(method, url, content=b'{"a": 1}')
        assert r.status_code == 400, url
    # the list is not flagged in Glance
    assert (await api.request("GET", "/v2/images", content=b"x")).status_code == 200
    assert (await api.get(f"/v2/images/{i}")).status_code == 200  # nothing was deleted


async def test_error_bodies_follow_accept(api: Api) -> None:
    as_json = await api.get(MISSING, headers={"Accept": "application/json"})
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.json()["code"] == "404 Not Found"
    assert as_json.json()["title"] == "Not Found"
    assert "message" in as_json.json()
    as_html = await api.get(MISSING, headers={"Accept": "*/*"})
    assert as_html.headers["content-type"].startswith("text/html")
    assert "<title>404 Not Found</title>" in as_html.text
    for accept in ("", "text/plain", "image/png"):
        plain = await api.get(MISSING, headers={"Accept": accept})
        assert plain.headers["content-type"].startswith("text/plain"), accept
        assert plain.text.startswith("404 Not Found\n\n")


async def test_odd_client_headers_are_tolerated(api: Api) -> None:
    """glanceclient sends octet-stream everywhere; the SDK sends an empty Accept."""
    octet = {"Content-Type": "application/octet-stream"}
    image = await api.create()
    i = image["id"]
    assert (await api.get(f"/v2/images/{i}", headers=octet)).status_code == 200
    assert (await api.get("/v2/images", headers=octet)).status_code == 200
    assert (await api.request("PUT", f"/v2/images/{i}/tags/t", headers=octet)).status_code == 204
    r = await api.patch(i, [{"op": "replace", "path": "/name", "value": "n"}])
    assert r.status_code == 200
    empty_accept = await api.request(
        "PATCH",
        f"/v2/images/{i}",
        content='[{"op": "replace", "path": "/name", "value": "m"}]',
        headers={"Accept": "", "Content-Type": "application/openstack-images-v2.1-json-patch"},
    )
    assert empty_accept.status_code == 200
    assert empty_accept.json()["name"] == "m"
    assert (await api.request("DELETE", f"/v2/images/{i}", headers=octet)).status_code == 204


async def test_non_utf8_urls_are_400(api: Api) -> None:
    for url in ("/v2/images?name=%FF", "/v2/images?%FE=x", "/v2/images/%FF"):
        assert (await api.get(url)).status_code == 400, url
    assert (await api.get("/v2/images?name=%C3%A9t%C3%A9")).status_code == 200


async def test_tag_paths_are_url_decoded(api: Api) -> None:
    image = await api.create()
    i = image["id"]
    assert (await api.request("PUT", f"/v2/images/{i}/tags/gabe%40example.com")).status_code == 204
    assert (await api.request("PUT", f"/v2/images/{i}/tags/a%20b")).status_code == 204
    assert sorted((await api.get(f"/v2/images/{i}")).json()["tags"]) == [
        "a b",
        "gabe@example.com",
    ]
    long_tag = "t" * 256
    assert (await api.request("PUT", f"/v2/images/{i}/tags/{long_tag}")).status_code == 400
    assert (await api.request("DELETE", f"/v2/images/{i}/tags/absent")).status_code == 404
    assert (await api.request("PUT", f"/v2/images/{i}/tags/x", who="p2")).status_code == 404


async def test_non_uuid_ids_are_404(api: Api) -> None:
    for url in ("/v2/images/abc", "/v2/images/abc/file", "/v2/images/abc/members"):
        assert (await api.get(url)).status_code == 404, url


async def test_unknown_versions_answer_the_versions_document(api: Api) -> None:
    for url in ("/v1/images", "/v3/images", "/v2.99/images", "/v1", "/v1.1/images/x"):
        r = await api.get(url)
        assert r.status_code == 300, url
        assert r.json()["versions"][0]["id"] == "v2.15"
    image = await api.create(name="neg")
    r = await api.get(
        f"/images/{image['id']}", headers={"Accept": "application/vnd.openstack.images-v2"}
    )
    assert r.status_code == 200
    assert r.json()["name"] == "neg"
    assert (await api.get("/v2.1/images/%FF")).status_code == 400
