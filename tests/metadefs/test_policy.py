"""Who may read and write metadefs: reads for public namespaces and the caller's project's,
writes admin-only, another project's private namespace is 404 (never 403)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.metadefs.conftest import Callers

NS = "/v2/metadefs/namespaces"


@pytest.fixture
async def catalog(http: httpx.AsyncClient, callers: Callers) -> None:
    for body in (
        {
            "namespace": "Pub",
            "visibility": "public",
            "properties": {"p": {"title": "P", "type": "string"}},
        },
        {"namespace": "P2Private", "visibility": "private", "owner": "P2"},
        {"namespace": "P1Private", "visibility": "private", "owner": "P1"},
    ):
        assert (await http.post(NS, json=body, headers=callers.admin)).status_code == 201


@pytest.mark.usefixtures("catalog")
async def test_reads_are_scoped(http: httpx.AsyncClient, callers: Callers) -> None:
    names = lambda r: sorted(n["namespace"] for n in r.json()["namespaces"])  # noqa: E731
    assert names(await http.get(NS, headers=callers.admin)) == ["P1Private", "P2Private", "Pub"]
    assert names(await http.get(NS, headers=callers.p1_reader)) == ["P1Private", "Pub"]
    assert names(await http.get(NS, headers=callers.p2_member)) == ["P2Private", "Pub"]
    for path in ("", "/properties", "/objects", "/tags", "/resource_types", "/properties/p"):
        r = await http.get(f"{NS}/P2Private{path}", headers=callers.p1_reader)
        assert r.status_code == 404, path
    assert (await http.get(f"{NS}/P1Private", headers=callers.p1_reader)).status_code == 200
    assert (await http.get(f"{NS}/Pub/properties/p", headers=callers.p1_reader)).status_code == 200
    # A marker the caller cannot see is as unknown as a missing one.
    assert (await http.get(f"{NS}?marker=P2Private", headers=callers.p1_reader)).status_code == 400


WRITES = [
    ("POST", NS, {"namespace": "New"}),
    ("PUT", f"{NS}/{{ns}}", {"namespace": "{ns}", "display_name": "x"}),
    ("DELETE", f"{NS}/{{ns}}", None),
    ("POST", f"{NS}/{{ns}}/objects", {"name": "o"}),
    ("DELETE", f"{NS}/{{ns}}/objects", None),
    ("POST", f"{NS}/{{ns}}/properties", {"name": "q", "title": "Q", "type": "string"}),
    ("PUT", f"{NS}/{{ns}}/properties/p", {"name": "p", "title": "P", "type": "string"}),
    ("DELETE", f"{NS}/{{ns}}/properties/p", None),
    ("DELETE", f"{NS}/{{ns}}/properties", None),
    ("POST", f"{NS}/{{ns}}/tags", {"tags": [{"name": "t"}]}),
    ("POST", f"{NS}/{{ns}}/tags/t", None),
    ("DELETE", f"{NS}/{{ns}}/tags", None),
    ("POST", f"{NS}/{{ns}}/resource_types", {"name": "OS::Glance::Image"}),
    ("DELETE", f"{NS}/{{ns}}/resource_types/OS::Glance::Image", None),
]


@pytest.mark.usefixtures("catalog")
@pytest.mark.parametrize(("method", "path", "body"), WRITES)
async def test_writes_are_admin_only(
    http: httpx.AsyncClient, callers: Callers, method: str, path: str, body: object
) -> None:
    for ns, who, status in (
        ("Pub", callers.p1_member, 403),
        ("P1Private", callers.p1_member, 403),
        ("P2Private", callers.p1_member, 404),
    ):
        url = path.format(ns=ns)
        if url == NS and ns != "Pub":
            continue
        payload = None if body is None else json.loads(json.dumps(body).replace("{ns}", ns))
        r = await http.request(method, url, json=payload, headers=who)
        expected = 403 if url == NS else status
        assert r.status_code == expected, (method, url, r.text)
    still = await http.get(f"{NS}/Pub/properties/p", headers=callers.admin)
    assert still.status_code == 200


async def test_policy_override_opens_writes(
    http: httpx.AsyncClient, callers: Callers, settings: object
) -> None:
    """Operators can re-point modify_metadef (the rule is checked, not hard-coded)."""
    from dataclasses import replace

    from glimpse.app import create_app

    auth = replace(settings.auth, policy_overrides={"modify_metadef": "admin or member"})  # type: ignore[attr-defined]
    app = create_app(replace(settings, auth=auth))  # type: ignore[type-var]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post(NS, json={"namespace": "Mine"}, headers=callers.p1_member)
            assert (r.status_code, r.json()["owner"]) == (201, "P1")
            r = await client.get(f"{NS}/Mine", headers=callers.p2_member)
            assert r.status_code == 404
