"""openstacksdk and the ``openstack`` CLI (python-openstackclient) against a live server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import openstack
import pytest
from openstack import exceptions as oexc

from tests.clients.conftest import BIN, payload, project, run_cli, seed
from tests.conftest import LiveServer

# The SDK warns about its own internal deprecations (metrics options, proxy arguments).
pytestmark = [
    pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.OpenStackDeprecationWarning"),
]


def connect(server: LiveServer, owner: str, *, auth_none: bool = False) -> Any:
    """``admin_token`` needs the versioned endpoint; ``none`` runs version discovery."""
    common: dict[str, Any] = {"load_yaml_config": False, "load_envvars": False}
    if auth_none:
        return openstack.connect(auth_type="none", image_endpoint_override=server.url, **common)
    return openstack.connect(
        auth_type="admin_token",
        auth={"endpoint": f"{server.url}/v2", "token": server.token(owner)},
        **common,
    )


def test_sdk_list_pages(live_server: LiveServer) -> None:
    owner = project()
    ids = seed(live_server, owner, 30)  # more than the server's default page of 25
    conn = connect(live_server, owner)
    assert sorted(i.id for i in conn.image.images()) == sorted(ids)
    # an explicit limit pages with markers until an empty page
    assert sorted(i.id for i in conn.image.images(limit=7)) == sorted(ids)
    assert [i.name for i in conn.image.images(sort="name:asc", limit=4)][:3] == [
        "seed-000",
        "seed-001",
        "seed-002",
    ]


def test_sdk_discovers_the_version_from_the_root(live_server: LiveServer) -> None:
    """With ``auth_type=none`` the SDK reads the versions document; anonymous -> 401."""
    conn = connect(live_server, project(), auth_none=True)
    with pytest.raises(oexc.HttpException) as err:
        list(conn.image.images())
    assert err.value.status_code == 401


def test_sdk_image_lifecycle(live_server: LiveServer, tmp_path: Path) -> None:
    owner, other = project(), project()
    conn, conn2 = connect(live_server, owner), connect(live_server, other)
    data = payload()
    src = tmp_path / "disk.raw"
    src.write_bytes(data)
    image = conn.image.create_image(
        "sdk",
        filename=str(src),
        disk_format="raw",
        container_format="bare",
        visibility="shared",
        allow_duplicates=True,
        wait=True,
        meta={"color": "red"},
    )
    image = conn.image.get_image(image.id)
    assert image.status == "active"
    assert image.checksum == hashlib.md5(data).hexdigest()
    assert image.properties["color"] == "red"

    out = tmp_path / "out.raw"
    conn.image.download_image(image, output=str(out))  # the SDK verifies the hash
    assert out.read_bytes() == data

    conn.image.update_image(image, name="sdk2", min_disk=2, color="blue")
    image = conn.image.get_image(image.id)
    assert (image.name, image.min_disk, image.properties["color"]) == ("sdk2", 2, "blue")

    conn.image.add_tag(image, "x")
    conn.image.add_tag(image, "y")
    conn.image.remove_tag(image, "x")
    assert conn.image.get_image(image.id).tags == ["y"]

    conn.image.add_member(image, member_id=other)
    conn2.image.update_member(other, image.id, status="accepted")
    assert image.id in [i.id for i in conn2.image.images()]
    assert [m.member_id for m in conn2.image.members(image.id)] == [other]

    conn.image.deactivate_image(image)
    assert conn.image.get_image(image.id).status == "deactivated"
    conn.image.reactivate_image(image)
    assert conn.image.get_image(image.id).status == "active"

    conn.image.delete_image(image)
    with pytest.raises(oexc.NotFoundException):
        conn.image.get_image(image.id)


def osc(server: LiveServer, owner: str, home: Path, *args: str) -> Any:
    base = [str(BIN / "openstack"), "--os-endpoint", f"{server.url}/v2", "--os-token"]
    out = run_cli([*base, server.token(owner), *args], home)
    return json.loads(out) if "json" in args else out


def test_openstack_cli(live_server: LiveServer, home: Path, tmp_path: Path) -> None:
    owner = project()
    seed(live_server, owner, 27)
    assert len(osc(live_server, owner, home, "image", "list", "-f", "json")) == 27

    data = payload()
    src = tmp_path / "disk.raw"
    src.write_bytes(data)
    created = osc(
        live_server,
        owner,
        home,
        "image",
        "create",
        "--file",
        str(src),
        "--disk-format",
        "raw",
        "--property",
        "k=v",
        "cli",
        "-f",
        "json",
    )
    assert created["status"] == "active"
    assert created["checksum"] == hashlib.md5(data).hexdigest()

    out = tmp_path / "out.raw"
    osc(live_server, owner, home, "image", "save", "--file", str(out), created["id"])
    assert out.read_bytes() == data

    osc(
        live_server,
        owner,
        home,
        "image",
        "set",
        "--name",
        "cli2",
        "--tag",
        "t1",
        "--property",
        "k=w",
        created["id"],
    )
    shown = osc(live_server, owner, home, "image", "show", created["id"], "-f", "json")
    assert shown["name"] == "cli2"
    assert shown["tags"] == ["t1"]
    assert shown["properties"]["k"] == "w"
    osc(live_server, owner, home, "image", "set", "--deactivate", created["id"])
    shown = osc(live_server, owner, home, "image", "show", created["id"], "-f", "json")
    assert shown["status"] == "deactivated"
    osc(live_server, owner, home, "image", "set", "--activate", created["id"])
    osc(live_server, owner, home, "image", "delete", created["id"])
    remaining = osc(live_server, owner, home, "image", "list", "-f", "json")
    assert created["id"] not in [i["ID"] for i in remaining]
