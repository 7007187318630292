"""``POST /v2/images``: defaults, validation and the 400/403/409 rules of spec §1.2."""

from __future__ import annotations

import uuid
from typing import Any

from tests.rest.conftest import Api

LONG = "x" * 256

# (body, persona, expected status). One table, run in one test to keep databases few.
CREATE_CASES: list[tuple[Any, str, int]] = [
    ({}, "p1", 201),
    ({"name": "ok", "disk_format": "qcow2", "container_format": "bare"}, "p1", 201),
    ({"name": None}, "p1", 201),
    ({"custom": "value", "tags": ["a", "a", "b"]}, "p1", 201),
    ({"visibility": "community"}, "p1", 201),
    ({"visibility": "private"}, "p1", 201),
    ({"visibility": "public"}, "admin", 201),
    ({"owner": "P9"}, "admin", 201),
    # read-only and reserved keys: 403
    *[({k: "x"}, "p1", 403) for k in ("direct_url", "self", "file", "schema", "stores")],
    *[
        ({k: "x"}, "p1", 403)
        for k in ("status", "checksum", "created_at", "updated_at", "os_hash_algo")
    ],
    ({"size": 1}, "p1", 403),
    ({"virtual_size": 1}, "p1", 403),
    ({"os_hash_value": "x"}, "p1", 403),
    *[({k: "x"}, "p1", 403) for k in ("location", "deleted", "deleted_at", "locations")],
    ({"os_glance_import_task": "x"}, "p1", 403),
    ({"os_glancefoo": "x"}, "p1", 403),
    # read-only wins over an invalid value elsewhere in the body (Glance checks it first)
    ({"min_ram": "lots", "self": "x"}, "p1", 403),
    # policy: public needs admin, foreign owner needs admin, readers cannot create
    ({"visibility": "public"}, "p1", 403),
    ({"owner": "P2"}, "p1", 403),
    ({"name": "r"}, "p1_reader", 403),
    # schema: types, enums, lengths, patterns
    ({"name": LONG}, "p1", 400),
    ({"name": 5}, "p1", 400),
    ({"visibility": "everyone"}, "p1", 400),
    ({"disk_format": "floppy"}, "p1", 400),
    ({"container_format": "box"}, "p1", 400),
    ({"protected": "yes"}, "p1", 400),
    ({"os_hidden": 1}, "p1", 400),
    ({"min_ram": -1}, "p1", 400),
    ({"min_disk": -5}, "p1", 400),
    ({"min_disk": "5"}, "p1", 400),
    ({"min_ram": True}, "p1", 400),
    ({"tags": "a"}, "p1", 400),
    ({"tags": [LONG]}, "p1", 400),
    ({"tags": [1]}, "p1", 400),
    ({"id": "not-a-uuid"}, "p1", 400),
    ({"custom": 5}, "p1", 400),
    ({"custom": None}, "p1", 400),
    ({LONG: "v"}, "p1", 400),
    # not an object at the top level
    ([], "p1", 400),
    ("hello", "p1", 400),
    (123, "p1", 400),
    (True, "p1", 400),
    (None, "p1", 400),
]


async def test_create_rules_table(api: Api) -> None:
    mismatches = []
    for body, who, expected in CREATE_CASES:
        r = await api.request("POST", "/v2/images", who=who, json=body)
        if r.status_code != expected:
            mismatches.append((body, who, expected, r.status_code, r.text[:120]))
    assert mismatches == []


async def test_malformed_json_is_400(api: Api) -> None:
    for raw in (b"{", b"{'a': 1}", b"\xff\xfe", b"[1,"):
        r = await api.request(
            "POST", "/v2/images", content=raw, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400, raw


async def test_defaults_and_headers(api: Api) -> None:
    r = await api.request("POST", "/v2/images", json={"tags": ["b", "a", "b"], "k": "v"})
    assert r.status_code == 201
    body = r.json()
    assert r.headers["location"] == f"http://glimpse.test/v2/images/{body['id']}"
    assert r.headers["openstack-image-import-methods"] == "glance-direct,web-download,copy-image"
    expected = {
        "status": "queued",
        "visibility": "shared",
        "protected": False,
        "os_hidden": False,
        "min_disk": 0,
        "min_ram": 0,
        "owner": "P1",
        "name": None,
        "size": None,
        "virtual_size": None,
        "checksum": None,
        "os_hash_algo": None,
        "os_hash_value": None,
        "disk_format": None,
        "container_format": None,
        "k": "v",
        "self": f"/v2/images/{body['id']}",
        "file": f"/v2/images/{body['id']}/file",
        "schema": "/v2/schemas/image",
    }
    assert {k: body[k] for k in expected} == expected
    assert sorted(body["tags"]) == ["a", "b"]
    assert body["created_at"] == body["updated_at"]
    assert body["created_at"].endswith("Z")
    assert len(body["created_at"]) == 20
    assert "locations" not in body
    assert "direct_url" not in body
    assert "stores" not in body


async def test_chosen_id_and_duplicate(api: Api) -> None:
    image_id = str(uuid.uuid4())
    first = await api.request("POST", "/v2/images", json={"id": image_id})
    assert first.status_code == 201
    assert first.json()["id"] == image_id
    again = await api.request("POST", "/v2/images", json={"id": image_id})
    assert again.status_code == 409
    # another project cannot learn more than "taken" either
    other = await api.request("POST", "/v2/images", who="p2", json={"id": image_id})
    assert other.status_code == 409


async def test_property_quota_is_413(api: Api) -> None:
    body = {f"p{i}": "v" for i in range(129)}
    r = await api.request("POST", "/v2/images", json=body)
    assert r.status_code == 413
    tags = await api.request("POST", "/v2/images", json={"tags": [f"t{i}" for i in range(129)]})
    assert tags.status_code == 413
