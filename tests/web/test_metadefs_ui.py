"""The metadata definitions browser and the property editor's suggestions from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import REPO_ROOT, LiveServer, need_service, start_server, stop_server
from tests.web.conftest import make_image, sign_in

pytestmark = pytest.mark.browser

CATALOG = Path(
    os.environ.get("GLIMPSE_METADEFS_DIR", str(REPO_ROOT.parent / "shared" / "data" / "metadefs"))
)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """A server whose catalog holds Glance's standard namespaces (loaded with the CLI)."""
    if not list(CATALOG.glob("*.json")):
        need_service("metadefs catalog", f"no namespace files in {CATALOG}")
    root = Path(tempfile.mkdtemp(prefix="glimpse-web-md-"))
    data = root / "data"
    env = {**os.environ, "GLIMPSE_DATA_DIR": str(data)}
    for args in (["db", "upgrade"], ["metadefs", "load", str(CATALOG)]):
        cmd = [sys.executable, "-m", "glimpse", *args, "--data-dir", str(data)]
        subprocess.run(cmd, env=env, check=True, capture_output=True)
    srv = start_server(data)
    try:
        yield srv
    finally:
        stop_server(srv)
        shutil.rmtree(root, ignore_errors=True)


async def test_browse_namespaces_and_suggest_properties(tab: Any, server: LiveServer) -> None:
    img = make_image(server, name="with-suggestions", diskFormat="raw", containerFormat="bare")
    await sign_in(tab, server)
    await tab.get_by_role("link", name="Metadata definitions").click()
    namespaces = tab.locator("details.ns")
    await expect(namespaces.first).to_be_visible()
    assert await namespaces.count() > 20
    libvirt = namespaces.filter(has_text="libvirt Driver Options for Images").first
    await libvirt.locator("summary").click()
    await expect(libvirt.get_by_role("row", name="hw_disk_bus")).to_contain_text("virtio")

    await tab.goto(f"{server.url}/ui/#/image/{img['id']}")
    key = tab.get_by_label("New property name")
    await key.fill("hw_disk_bus")
    await expect(tab.locator("#prop-values option[value=virtio]")).to_have_count(1)
    await expect(tab.get_by_label("Value", exact=True)).to_have_attribute(
        "placeholder", "string — Specifies the type of disk controller to attach disk devices to."
    )
    await tab.get_by_label("Value", exact=True).fill("virtio")
    await tab.get_by_role("button", name="Add property").click()
    await expect(tab.get_by_label("Value of hw_disk_bus")).to_have_value("virtio")
