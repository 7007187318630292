"""Glance's /v2/tasks: legacy import task (201), list with filters and paging, show,
DELETE 405; and the web-download URL filter's defaults."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from glimpse.core.config import ImportSettings, Settings
from glimpse.core.errors import InvalidInput
from glimpse.resolvers import web_download
from tests.tasks.conftest import admin, headers, md5, wait_task


async def _legacy(http: httpx.AsyncClient, settings: Settings, url: str) -> httpx.Response:
    body = {
        "type": "import",
        "input": {
            "import_from": url,
            "import_from_format": "raw",
            "image_properties": {"name": "legacy", "container_format": "bare"},
        },
    }
    return await http.post("/v2/tasks", json=body, headers=admin(settings))


async def test_legacy_import_task(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Any]
) -> None:
    base, root = file_server
    data = os.urandom(100_000)
    (root / "a.raw").write_bytes(data)
    r = await _legacy(http, settings, f"{base}/a.raw")
    assert r.status_code == 201, r.text
    task = r.json()
    assert r.headers["Location"].endswith(f"/v2/tasks/{task['id']}")
    assert task["status"] == "pending"
    assert task["self"] == f"/v2/tasks/{task['id']}"
    assert task["schema"] == "/v2/schemas/task"
    done = await wait_task(http, settings, task["id"])
    assert done["status"] == "success", done
    assert done["expires_at"] is not None
    image_id = done["result"]["image_id"]
    img = (await http.get(f"/v2/images/{image_id}", headers=admin(settings))).json()
    assert (img["name"], img["status"], img["checksum"]) == ("legacy", "active", md5(data))
    # filtered URL -> 400 at request time; missing fields -> 400; non-admin -> 403
    assert (await _legacy(http, settings, "ftp://x/y")).status_code == 400
    r = await http.post("/v2/tasks", json={"type": "import"}, headers=admin(settings))
    assert r.status_code == 400
    r = await http.post(
        "/v2/tasks", json={"type": "import", "input": {}}, headers=headers(settings)
    )
    assert r.status_code == 403


async def test_list_show_and_delete(
    http: httpx.AsyncClient, settings: Settings, file_server: tuple[str, Any]
) -> None:
    base, root = file_server
    (root / "a.raw").write_bytes(b"x" * 1024)
    ids = []
    for _ in range(3):
        r = await _legacy(http, settings, f"{base}/a.raw")
        ids.append(r.json()["id"])
    for i in ids:
        await wait_task(http, settings, i)
    a = admin(settings)
    r = await http.get("/v2/tasks?limit=2", headers=a)
    body = r.json()
    assert [t["id"] for t in body["tasks"]] == ids[::-1][:2]  # newest first
    assert body["schema"] == "/v2/schemas/tasks"
    assert set(body["tasks"][0]) >= {
        "id",
        "type",
        "status",
        "owner",
        "created_at",
        "updated_at",
        "expires_at",
        "self",
        "schema",
    }
    assert "input" not in body["tasks"][0]
    page2 = (await http.get(body["next"], headers=a)).json()
    assert [t["id"] for t in page2["tasks"]] == [ids[0]]
    assert "next" not in page2
    r = await http.get("/v2/tasks?sort_dir=asc&status=success&type=import", headers=a)
    assert [t["id"] for t in r.json()["tasks"]] == ids
    assert (await http.get("/v2/tasks?status=bogus", headers=a)).status_code == 400
    assert (await http.get("/v2/tasks?marker=not-a-uuid", headers=a)).status_code == 400
    assert (await http.get("/v2/tasks", headers=headers(settings))).status_code == 403
    shown = (await http.get(f"/v2/tasks/{ids[0]}", headers=a)).json()
    assert shown["input"]["import_from"] == f"{base}/a.raw"
    assert shown["type"] == "import"
    r = await http.delete(f"/v2/tasks/{ids[0]}", headers=a)
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET"
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await http.get(f"/v2/tasks/{missing}", headers=a)).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
        "http://example.com:8080/x",  # only 80 and 443 by default
        "ftp://example.com/x",
    ],
)
async def test_default_filter_denies(url: str) -> None:
    with pytest.raises(InvalidInput, match="does not pass filtering"):
        await web_download.check(ImportSettings(), url)


def test_filter_lists() -> None:
    s = ImportSettings(
        allowed_hosts=("images.example.org",), disallowed_ports=("8443",), allowed_ports=()
    )
    assert web_download.check_static(s, "https://images.example.org/a") == (
        "images.example.org",
        443,
    )
    with pytest.raises(InvalidInput):
        web_download.check_static(s, "https://other.example.org/a")
    with pytest.raises(InvalidInput):
        web_download.check_static(s, "https://images.example.org:8443/a")
