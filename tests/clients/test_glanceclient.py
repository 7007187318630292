"""python-glanceclient (library and ``glance`` CLI) against a live server, unchanged."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from glanceclient import Client
from glanceclient import exc as gexc

from tests.clients.conftest import BIN, payload, project, run_cli, seed
from tests.conftest import LiveServer


def client(server: LiveServer, owner: str, *roles: str) -> Client:
    # The version inside the URL (passing "2" separately is deprecated by the client).
    return Client(endpoint=f"{server.url}/v2", token=server.token(owner, *roles))


def test_list_pages_through_next_links(live_server: LiveServer) -> None:
    owner = project()
    ids = seed(live_server, owner, 7, tags=["paged"])
    gc = client(live_server, owner)
    listed = [i["id"] for i in gc.images.list(page_size=3, filters={"tag": ["paged"]})]
    assert sorted(listed) == sorted(ids)
    # default glanceclient sort (name asc) is honoured by the server across pages
    names = [i["name"] for i in gc.images.list(page_size=2, sort_key="name", sort_dir="asc")]
    assert names == sorted(names)
    assert len(names) == 7


def test_image_lifecycle(live_server: LiveServer) -> None:
    owner, other = project(), project()
    gc, gc2 = client(live_server, owner), client(live_server, other)
    data = payload()
    image = gc.images.create(
        name="lib", disk_format="raw", container_format="bare", visibility="shared", foo="bar"
    )
    assert image["status"] == "queued"
    assert image["foo"] == "bar"
    gc.images.upload(image["id"], io.BytesIO(data), image_size=len(data))
    image = gc.images.get(image["id"])
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert image["size"] == len(data)

    # download: glanceclient verifies os_hash_value itself while streaming
    assert b"".join(gc.images.data(image["id"])) == data

    # update: the client's own JSON-patch generation (replace base, add/remove custom)
    gc.images.update(image["id"], name="renamed", min_ram=64, remove_props=["foo"], baz="qux")
    image = gc.images.get(image["id"])
    assert (image["name"], image["min_ram"], image["baz"]) == ("renamed", 64, "qux")
    assert "foo" not in image

    gc.image_tags.update(image["id"], "blue")
    gc.image_tags.update(image["id"], "green")
    gc.image_tags.delete(image["id"], "blue")
    assert gc.images.get(image["id"])["tags"] == ["green"]
    # an update when tags exist sends 'replace /tags' as well: the tags survive
    gc.images.update(image["id"], name="again")
    assert gc.images.get(image["id"])["tags"] == ["green"]

    # members: share, the member sees it only after accepting
    member = gc.image_members.create(image["id"], other)
    assert member["status"] == "pending"
    assert image["id"] not in [i["id"] for i in gc2.images.list()]
    pending = gc2.images.list(filters={"member_status": "pending", "visibility": "shared"})
    assert image["id"] in [i["id"] for i in pending]
    gc2.image_members.update(image["id"], other, "accepted")
    assert image["id"] in [i["id"] for i in gc2.images.list()]
    assert [m["member_id"] for m in gc2.image_members.list(image["id"])] == [other]
    assert b"".join(gc2.images.data(image["id"])) == data

    gc.images.deactivate(image["id"])
    assert gc.images.get(image["id"])["status"] == "deactivated"
    with pytest.raises(gexc.HTTPForbidden):
        b"".join(gc2.images.data(image["id"]))
    gc.images.reactivate(image["id"])
    assert gc.images.get(image["id"])["status"] == "active"

    gc.image_members.delete(image["id"], other)
    with pytest.raises(gexc.HTTPNotFound):
        gc2.images.get(image["id"])
    gc.images.delete(image["id"])
    with pytest.raises(gexc.HTTPNotFound):
        gc.images.get(image["id"])


def test_errors_reach_the_client_as_typed_exceptions(live_server: LiveServer) -> None:
    gc = client(live_server, project())
    with pytest.raises(gexc.HTTPNotFound):
        gc.images.get("00000000-0000-0000-0000-000000000000")
    image = gc.images.create(name="p", protected=True)
    with pytest.raises(gexc.HTTPForbidden):
        gc.images.delete(image["id"])
    with pytest.raises(gexc.HTTPBadRequest):
        list(gc.images.list(filters={"visibility": "nonsense"}))


def glance(server: LiveServer, owner: str, home: Path, *args: str, stdin: bytes = b"") -> str:
    base = [str(BIN / "glance"), "--os-image-url", server.url, "--os-auth-token"]
    return run_cli([*base, server.token(owner), *args], home, stdin=stdin)


def test_glance_cli(live_server: LiveServer, home: Path, tmp_path: Path) -> None:
    owner = project()
    seed(live_server, owner, 5)
    listing = glance(live_server, owner, home, "image-list", "--page-size", "2")
    assert sum(1 for line in listing.splitlines() if "seed-" in line) == 5

    src = tmp_path / "disk.raw"
    data = payload()
    src.write_bytes(data)
    out = glance(
        live_server,
        owner,
        home,
        "image-create",
        "--name",
        "cli",
        "--disk-format",
        "raw",
        "--container-format",
        "bare",
        "--property",
        "color=red",
        "--file",
        str(src),
    )
    image_id = _field(out, "id")
    assert _field(out, "status") == "active"
    assert _field(out, "checksum") == hashlib.md5(data).hexdigest()

    dst = tmp_path / "out.raw"
    glance(live_server, owner, home, "image-download", image_id, "--file", str(dst))
    assert dst.read_bytes() == data

    out = glance(
        live_server,
        owner,
        home,
        "image-update",
        image_id,
        "--name",
        "cli2",
        "--property",
        "size_hint=big",
        "--remove-property",
        "color",
    )
    assert _field(out, "name") == "cli2"
    assert _field(out, "size_hint") == "big"
    glance(live_server, owner, home, "image-tag-update", image_id, "t1")
    assert "t1" in _field(glance(live_server, owner, home, "image-show", image_id), "tags")
    member = project()
    glance(live_server, owner, home, "member-create", image_id, member)
    glance(live_server, member, home, "member-update", image_id, member, "accepted")
    members = glance(live_server, member, home, "member-list", "--image-id", image_id)
    assert f"| {image_id} | {member}" in members
    assert "accepted" in members
    assert image_id in glance(live_server, member, home, "image-list")
    glance(live_server, owner, home, "image-deactivate", image_id)
    assert _field(glance(live_server, owner, home, "image-show", image_id), "status") == (
        "deactivated"
    )
    glance(live_server, owner, home, "image-reactivate", image_id)
    glance(live_server, owner, home, "image-delete", image_id)
    assert image_id not in glance(live_server, owner, home, "image-list")


def _field(table: str, name: str) -> str:
    """A value from glanceclient's ``| Property | Value |`` table."""
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] == name:
            return cells[1]
    raise AssertionError(f"{name} not in output:\n{table}")
