"""Finding 11: ``Location`` headers and version links are built from configuration (or
the socket the request came in on), never from the client's ``Host`` header."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx

from glimpse.app import create_app
from tests.conftest import LiveServer, make_settings

EVIL = {"Host": "attacker.example:8080"}


def test_host_header_does_not_build_links(live: LiveServer) -> None:
    auth = {"X-Auth-Token": live.token("P1")}
    r = httpx.post(f"{live.url}/v2/images", json={"name": "x"}, headers={**auth, **EVIL})
    assert r.status_code == 201
    assert r.headers["location"] == f"{live.url}/v2/images/{r.json()['id']}"
    versions = httpx.get(f"{live.url}/versions", headers=EVIL).json()["versions"]
    assert {link["href"] for v in versions for link in v["links"]} == {f"{live.url}/v2/"}
    root = httpx.get(f"{live.url}/", headers=EVIL)
    assert root.status_code == 300
    assert "attacker" not in root.text
    admin = {"X-Auth-Token": live.token("admin", "admin")}
    ns = httpx.post(
        f"{live.url}/v2/metadefs/namespaces", json={"namespace": "Edge"}, headers={**admin, **EVIL}
    )
    assert ns.status_code == 201, ns.text
    assert "attacker" not in ns.text
    assert "attacker" not in ns.headers.get("location", "")


async def test_public_url_wins_when_configured(tmp_path: Path, sqlite_url: str) -> None:
    settings = replace(
        make_settings(tmp_path / "data", sqlite_url), public_url="https://images.example.org/"
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://glimpse.test") as c:
            versions = (await c.get("/versions", headers=EVIL)).json()["versions"]
    assert versions[0]["links"][0]["href"] == "https://images.example.org/v2/"
