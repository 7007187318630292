"""The OpenStack clients as users run them: credentials for Keystone, the image service found
in Keystone's catalog, Glimpse validating the tokens the clients got there."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack
import pytest
import yaml

from tests.clients.conftest import BIN, home, payload, run_cli
from tests.conftest import LiveServer, start_server, stop_server
from tests.keystone import provision, server
from tests.keystone.conftest import SERVICE_USER
from tests.keystone.server import Keystone

__all__ = ["home"]  # the throwaway HOME fixture of tests/clients

pytestmark = [
    pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.OpenStackDeprecationWarning"),
]


@pytest.fixture(scope="module")
def glimpse_ks(keystone: Keystone) -> Iterator[LiveServer]:
    """``glimpse serve`` configured through GLIMPSE_KEYSTONE_* and listed in the catalog."""
    root = Path(tempfile.mkdtemp(prefix="glimpse-ks-live-"))
    env = {
        "GLIMPSE_KEYSTONE_AUTH_URL": keystone.url,
        "GLIMPSE_KEYSTONE_USERNAME": SERVICE_USER,
        "GLIMPSE_KEYSTONE_PASSWORD": server.PASSWORD,
        "GLIMPSE_KEYSTONE_PROJECT_NAME": "service",
    }
    live = start_server(root / "data", env=env)
    provision.register_image_service(keystone, live.url)
    try:
        yield live
    finally:
        stop_server(live)
        shutil.rmtree(root, ignore_errors=True)


def osc(keystone: Keystone, home: Path, user: str, project: str, *args: str) -> Any:
    base = [
        str(BIN / "openstack"),
        "--os-auth-url",
        keystone.url,
        "--os-username",
        user,
        "--os-password",
        server.PASSWORD,
        "--os-project-name",
        project,
        "--os-user-domain-name",
        "Default",
        "--os-project-domain-name",
        "Default",
        "--os-region-name",
        server.REGION,
    ]
    out = run_cli([*base, *args], home)
    return json.loads(out) if "json" in args else out


def test_openstack_cli_through_keystone(
    glimpse_ks: LiveServer, keystone: Keystone, home: Path, tmp_path: Path
) -> None:
    data = payload()
    src = tmp_path / "disk.raw"
    src.write_bytes(data)
    created = osc(
        keystone,
        home,
        "alice",
        "alpha",
        *("image", "create", "--file", str(src), "--disk-format", "raw", "cli-ks", "-f", "json"),
    )
    assert created["status"] == "active"
    assert created["owner"] == keystone.ids["project:alpha"]
    listed = osc(keystone, home, "rita", "alpha", "image", "list", "-f", "json")
    assert created["id"] in [i["ID"] for i in listed]
    out = tmp_path / "out.raw"
    osc(keystone, home, "alice", "alpha", "image", "save", "--file", str(out), created["id"])
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()
    osc(keystone, home, "alice", "alpha", "image", "delete", created["id"])
    listed = osc(keystone, home, "alice", "alpha", "image", "list", "-f", "json")
    assert created["id"] not in [i["ID"] for i in listed]


def test_openstacksdk_from_clouds_yaml(
    glimpse_ks: LiveServer, keystone: Keystone, tmp_path: Path
) -> None:
    clouds = {
        "clouds": {
            "glimpse": {
                "auth": {
                    "auth_url": keystone.base,  # unversioned, as many clouds.yaml write it
                    "username": "bob",
                    "password": server.PASSWORD,
                    "project_name": "beta",
                    "user_domain_name": "Default",
                    "project_domain_name": "Default",
                },
                "region_name": server.REGION,
                "identity_api_version": 3,
            }
        }
    }
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump(clouds))
    config = openstack.config.OpenStackConfig(config_files=[str(path)], load_envvars=False)
    conn = openstack.connection.Connection(config=config.get_one(cloud="glimpse"))
    data = payload(100_000)
    src = tmp_path / "disk.raw"
    src.write_bytes(data)
    image = conn.image.create_image(
        "sdk-ks",
        filename=str(src),
        disk_format="raw",
        container_format="bare",
        allow_duplicates=True,
        wait=True,
    )
    assert conn.image.get_image(image.id).owner == keystone.ids["project:beta"]
    assert image.id in [i.id for i in conn.image.images()]
    out = tmp_path / "out.raw"
    conn.image.download_image(image, output=str(out))
    assert out.read_bytes() == data
    conn.image.delete_image(image)
    assert image.id not in [i.id for i in conn.image.images()]
    conn.close()
