"""``PATCH /v2/images/{id}``: both media types, pointer rules and op semantics (spec §1.3)."""

from __future__ import annotations

from typing import Any

from tests.rest.conftest import Api

V21 = "application/openstack-images-v2.1-json-patch"

# (ops, v2.0 dialect?, expected status) applied to a fresh queued image owned by P1 with
# custom property "foo"="bar"; each case starts from that state.
PATCH_CASES: list[tuple[Any, bool, int]] = [
    ([{"op": "replace", "path": "/name", "value": "n"}], False, 200),
    ([{"op": "add", "path": "/name", "value": "n"}], False, 200),
    ([{"op": "add", "path": "/new", "value": "v"}], False, 200),
    ([{"op": "add", "path": "/foo", "value": "overwritten"}], False, 200),
    ([{"op": "replace", "path": "/foo", "value": "v"}], False, 200),
    ([{"op": "remove", "path": "/foo"}], False, 200),
    ([{"op": "replace", "path": "/tags", "value": ["a", "a"]}], False, 200),
    ([{"op": "replace", "path": "/disk_format", "value": "raw"}], False, 200),
    ([{"op": "replace", "path": "/a~1b", "value": "slash"}], False, 409),
    ([{"op": "add", "path": "/a~1b~0c", "value": "ok"}], False, 200),
    ([], False, 200),
    # operations and members
    ([{"op": "move", "path": "/name", "value": "n"}], False, 400),
    ([{"op": "test", "path": "/name", "value": "n"}], False, 400),
    ([{"path": "/name", "value": "n"}], False, 400),
    ([{"op": "replace", "value": "n"}], False, 400),
    ([{"op": "replace", "path": "/name"}], False, 400),
    ([{"op": "add", "path": "/name"}], False, 400),
    (["replace"], False, 400),
    ({"op": "replace"}, False, 400),
    # pointers
    ([{"op": "replace", "path": "name", "value": "n"}], False, 400),
    ([{"op": "replace", "path": "/name/", "value": "n"}], False, 400),
    ([{"op": "replace", "path": "//name", "value": "n"}], False, 400),
    ([{"op": "replace", "path": "/a/b", "value": "n"}], False, 400),
    ([{"op": "add", "path": "/tags/-", "value": "t"}], False, 400),
    ([{"op": "add", "path": "/bad~2escape", "value": "n"}], False, 400),
    ([{"op": "replace", "path": "/", "value": "n"}], False, 400),
    ([{"op": "replace", "path": 5, "value": "n"}], False, 400),
    # read-only and reserved roots: 403 for every op
    *[
        ([{"op": op, "path": f"/{k}", "value": "x"}], False, 403)
        for op in ("add", "replace", "remove")
        for k in ("id", "status", "checksum", "size", "virtual_size", "created_at")
    ],
    *[
        ([{"op": "replace", "path": f"/{k}", "value": "x"}], False, 403)
        for k in ("updated_at", "os_hash_algo", "os_hash_value", "direct_url", "self", "file")
    ],
    ([{"op": "replace", "path": "/schema", "value": "x"}], False, 403),
    *[
        ([{"op": "add", "path": f"/{k}", "value": "x"}], False, 403)
        for k in ("location", "deleted", "deleted_at", "os_glance_import_task", "os_glancex")
    ],
    ([{"op": "remove", "path": "/os_glance_failed_import"}], False, 403),
    # missing custom properties, removing base attributes
    ([{"op": "replace", "path": "/missing", "value": "v"}], False, 409),
    ([{"op": "remove", "path": "/missing"}], False, 409),
    ([{"op": "remove", "path": "/name"}], False, 403),
    ([{"op": "remove", "path": "/stores"}], False, 409),
    ([{"op": "replace", "path": "/stores", "value": "x"}], False, 409),
    # locations are not editable (show_multiple_locations is off)
    ([{"op": "replace", "path": "/locations", "value": []}], False, 403),
    ([{"op": "add", "path": "/locations/-", "value": {"url": "x", "metadata": {}}}], False, 403),
    ([{"op": "remove", "path": "/locations/0"}], False, 403),
    # values are validated per attribute
    ([{"op": "replace", "path": "/os_hidden", "value": "true"}], False, 400),
    ([{"op": "replace", "path": "/protected", "value": None}], False, 400),
    ([{"op": "replace", "path": "/min_ram", "value": -1}], False, 400),
    ([{"op": "replace", "path": "/visibility", "value": "world"}], False, 400),
    ([{"op": "replace", "path": "/disk_format", "value": "floppy"}], False, 400),
    ([{"op": "add", "path": "/custom", "value": 1}], False, 400),
    ([{"op": "replace", "path": "/name", "value": "x" * 256}], False, 400),
    ([{"op": "replace", "path": "/tags", "value": "t"}], False, 400),
    # policy for non-admins
    ([{"op": "replace", "path": "/visibility", "value": "public"}], False, 403),
    ([{"op": "replace", "path": "/owner", "value": "P2"}], False, 403),
    ([{"op": "replace", "path": "/visibility", "value": "community"}], False, 200),
    # quotas
    ([{"op": "replace", "path": "/tags", "value": [f"t{i}" for i in range(129)]}], False, 413),
    ([{"op": "add", "path": f"/p{i}", "value": "v"} for i in range(128)], False, 413),
    # the v2.0 draft dialect: the op is the key
    ([{"replace": "/name", "value": "n"}], True, 200),
    ([{"add": "/brand_new", "value": "v"}], True, 200),
    ([{"remove": "/foo"}], True, 200),
    ([{"add": "/foo", "value": "v"}], True, 409),
    ([{"add": "/name", "value": "v"}], True, 409),
    ([{"op": "replace", "path": "/name", "value": "n"}], True, 400),
    ([{"replace": "/name", "remove": "/foo", "value": "n"}], True, 400),
    ([{"replace": "/name"}], True, 400),
]


async def test_patch_rules_table(api: Api) -> None:
    mismatches = []
    for ops, v20, expected in PATCH_CASES:
        image = await api.create(name="orig", foo="bar")
        r = await api.patch(image["id"], ops, v20=v20)
        if r.status_code != expected:
            mismatches.append((ops if len(str(ops)) < 200 else "...", v20, expected, r.status_code))
    assert mismatches == []


async def test_patch_applies_all_or_nothing(api: Api) -> None:
    image = await api.create(name="orig", foo="bar")
    ops = [
        {"op": "replace", "path": "/name", "value": "changed"},
        {"op": "remove", "path": "/missing"},
    ]
    assert (await api.patch(image["id"], ops)).status_code == 409
    assert (await api.get(f"/v2/images/{image['id']}")).json()["name"] == "orig"


async def test_patch_result_and_timestamps(api: Api) -> None:
    image = await api.create(name="orig", foo="bar", tags=["x"])
    ops = [
        {"op": "replace", "path": "/name", "value": "new"},
        {"op": "add", "path": "/a~1b", "value": "slash"},
        {"op": "remove", "path": "/foo"},
        {"op": "replace", "path": "/tags", "value": ["z", "y", "z"]},
        {"op": "replace", "path": "/min_ram", "value": 512},
    ]
    r = await api.patch(image["id"], ops)
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "new"
    assert body["a/b"] == "slash"
    assert "foo" not in body
    assert sorted(body["tags"]) == ["y", "z"]
    assert body["min_ram"] == 512
    assert body == (await api.get(f"/v2/images/{image['id']}")).json()


async def test_patch_media_types(api: Api) -> None:
    image = await api.create()
    url = f"/v2/images/{image['id']}"
    ops = '[{"op": "replace", "path": "/name", "value": "n"}]'
    for ctype in ("application/json", "application/json-patch+json", "text/plain", ""):
        r = await api.request("PATCH", url, content=ops, headers={"Content-Type": ctype})
        assert r.status_code == 415, ctype
        assert V21 in r.headers["accept-patch"]
        assert "application/openstack-images-v2.0-json-patch" in r.headers["accept-patch"]
    ok = await api.request(
        "PATCH", url, content=ops, headers={"Content-Type": f"{V21}; charset=UTF-8"}
    )
    assert ok.status_code == 200
    # an invisible image is a 404 whatever the media type
    other = await api.request("PATCH", url, who="p2", content=ops, headers={"Content-Type": ""})
    assert other.status_code == 404


async def test_patch_visibility_and_state_rules(api: Api) -> None:
    image = await api.create(name="x", disk_format="raw", container_format="bare")
    image_id = image["id"]
    assert (await api.upload(image_id, b"data")).status_code == 204
    fmt = [{"op": "replace", "path": "/disk_format", "value": "qcow2"}]
    assert (await api.patch(image_id, fmt)).status_code == 403
    assert (await api.patch(image_id, fmt, who="admin")).status_code == 403
    public = [{"op": "replace", "path": "/visibility", "value": "public"}]
    assert (await api.patch(image_id, public, who="admin")).status_code == 200
    # visible to P2 now, but not P2's to change: 403 (not 404)
    name = [{"op": "replace", "path": "/name", "value": "theirs"}]
    assert (await api.patch(image_id, name, who="p2")).status_code == 403
    owner = [{"op": "replace", "path": "/owner", "value": "P2"}]
    assert (await api.patch(image_id, owner, who="admin")).status_code == 200
    assert (await api.get(f"/v2/images/{image_id}")).json()["owner"] == "P2"
