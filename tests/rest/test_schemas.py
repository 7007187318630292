"""``/v2/schemas/*`` shapes (spec §1.10), and every image we render validates against our
own image schema, as python-glanceclient's warlock models require."""

from __future__ import annotations

import hashlib
from typing import Any

import jsonschema
import pytest

from glimpse.rest_compat.schemas import documents
from tests.rest.conftest import Api

BASE_KEYS = {
    "id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
    "os_hash_value", "owner", "size", "virtual_size", "container_format", "disk_format",
    "created_at", "updated_at", "tags", "direct_url", "min_ram", "min_disk", "self", "file",
    "stores", "schema", "locations",
}  # fmt: skip


async def test_image_schema_shape(api: Api) -> None:
    doc = (await api.get("/v2/schemas/image")).json()
    assert doc["name"] == "image"
    assert set(doc["properties"]) == BASE_KEYS
    assert doc["additionalProperties"] == {"type": "string"}
    assert doc["links"] == [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"},
    ]
    props = doc["properties"]
    assert props["name"]["type"] == ["null", "string"]
    assert None in props["disk_format"]["enum"]
    assert "qcow2" in props["disk_format"]["enum"]
    assert props["status"]["readOnly"] is True
    assert not props["name"]["readOnly"]
    jsonschema.Draft4Validator.check_schema(doc)


async def test_collection_and_minimal_schemas(api: Api) -> None:
    images = (await api.get("/v2/schemas/images")).json()
    assert images["name"] == "images"
    assert set(images["properties"]) == {"images", "first", "next", "schema"}
    assert images["properties"]["images"]["items"]["name"] == "image"
    assert [link["rel"] for link in images["links"]] == ["first", "next", "describedby"]
    for name in ("member", "task"):
        doc = (await api.get(f"/v2/schemas/{name}")).json()
        assert set(doc) == {"name", "properties"}, name
    member = (await api.get("/v2/schemas/member")).json()
    assert set(member["properties"]) == {
        "member_id", "image_id", "created_at", "updated_at", "status", "schema",
    }  # fmt: skip
    members = (await api.get("/v2/schemas/members")).json()
    assert set(members["properties"]) == {"members", "schema"}
    assert members["links"] == [{"rel": "describedby", "href": "{schema}"}]
    tasks = (await api.get("/v2/schemas/tasks")).json()
    stub = tasks["properties"]["tasks"]["items"]["properties"]
    assert "input" not in stub
    assert "result" not in stub
    assert "id" in stub


async def test_metadef_schemas_glanceclient_caches(api: Api) -> None:
    """The glance CLI downloads these two at start-up (shapes belong to the metadefs area)."""
    for url, name in (("namespace", "namespace"), ("resource_type", "resource_type_association")):
        doc = (await api.get(f"/v2/schemas/metadefs/{url}")).json()
        assert doc["name"] == name
        assert isinstance(doc["properties"], dict)
    assert (await api.get("/v2/schemas/nothing")).status_code == 404


@pytest.fixture
def image_validator() -> Any:
    return jsonschema.Draft4Validator(documents()["image"])


async def _varied_images(api: Api) -> list[str]:
    ids = [
        (await api.create())["id"],
        (await api.create(name="n", tags=["t"], custom="v", os_hidden=True))["id"],
        (await api.create(name="c", visibility="community", min_ram=1, min_disk=2))["id"],
        (await api.create(who="admin", visibility="public", owner="P1", protected=True))["id"],
        (await api.create(name="p", visibility="private", disk_format="iso"))["id"],
    ]
    data = b"payload" * 1000
    up = (await api.create(name="up", disk_format="raw", container_format="bare"))["id"]
    assert (await api.upload(up, data)).status_code == 204
    deact = (await api.create(name="d", disk_format="raw", container_format="bare"))["id"]
    assert (await api.upload(deact, data)).status_code == 204
    r = await api.request("POST", f"/v2/images/{deact}/actions/deactivate")
    assert r.status_code == 204
    body = (await api.get(f"/v2/images/{up}")).json()
    assert body["checksum"] == hashlib.md5(data).hexdigest()
    return [*ids, up, deact]


async def test_every_rendered_image_validates(api: Api, image_validator: Any) -> None:
    ids = await _varied_images(api)
    bodies: list[dict[str, Any]] = []
    for _ in range(3):
        created = await api.create(name="bulk", k="v", tags=["x", "y"], os_hidden=False)
        bodies.append(created)  # the 201 body is validated by glanceclient too
        ids.append(created["id"])
    for image_id in ids:
        bodies.append((await api.get(f"/v2/images/{image_id}")).json())
        r = await api.patch(image_id, [{"op": "add", "path": "/extra", "value": "1"}], who="admin")
        assert r.status_code == 200
        bodies.append(r.json())
        r = await api.request("PUT", f"/v2/images/{image_id}", who="admin", json={"z": "2"})
        bodies.append(r.json())
    listing = await api.get("/v2/images?visibility=all&os_hidden=false&limit=1000", who="admin")
    bodies += listing.json()["images"]
    collection = jsonschema.Draft4Validator(documents()["images"])
    collection.validate(listing.json())
    errors = [(b.get("name"), e.message) for b in bodies for e in image_validator.iter_errors(b)]
    assert errors == []
    assert len(bodies) >= 3 * len(ids)


async def test_member_bodies_validate(api: Api) -> None:
    image_id = (await api.create())["id"]
    r = await api.request("POST", f"/v2/images/{image_id}/members", json={"member": "P2"})
    jsonschema.validate(r.json(), documents()["member"])
    jsonschema.validate(
        (await api.get(f"/v2/images/{image_id}/members")).json(), documents()["members"]
    )
