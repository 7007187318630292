"""The Glance ``/v2/metadefs`` wire format: status codes and bodies of §1.13."""

from __future__ import annotations

from typing import Any

import httpx

from tests.metadefs.conftest import Callers

NS = "/v2/metadefs/namespaces"
CPU = {
    "namespace": "Test::CPU",
    "display_name": "CPU",
    "description": "cpu things",
    "visibility": "public",
    "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"}],
    "properties": {
        "cpu_policy": {"title": "Policy", "type": "string", "enum": ["shared", "dedicated"]},
        "cpu_cores": {"title": "Cores", "type": "integer", "minimum": 1, "maximum": 64},
    },
    "objects": [
        {
            "name": "Threads",
            "description": "thread settings",
            "properties": {"cpu_threads": {"type": "integer"}},
        }
    ],
    "tags": [{"name": "fast"}],
}


async def _create(http: httpx.AsyncClient, h: dict[str, str], body: dict[str, Any]) -> Any:
    r = await http.post(NS, json=body, headers=h)
    assert r.status_code == 201, r.text
    return r


async def test_namespace_create_show_update_delete(
    http: httpx.AsyncClient, callers: Callers
) -> None:
    r = await _create(http, callers.admin, CPU)
    assert r.headers["location"] == "http://glimpse.test/v2/metadefs/namespaces/Test::CPU"
    body = r.json()
    assert body["self"] == "/v2/metadefs/namespaces/Test::CPU"
    assert body["schema"] == "/v2/schemas/metadefs/namespace"
    assert (body["visibility"], body["protected"], body["owner"]) == ("public", False, "admin")
    assert body["properties"]["cpu_policy"]["enum"] == ["shared", "dedicated"]
    assert body["objects"][0]["properties"] == {"cpu_threads": {"type": "integer"}}
    assert body["tags"] == [{"name": "fast"}]
    assert body["resource_type_associations"][0]["prefix"] == "hw_"
    assert body["created_at"].endswith("Z")

    assert (await http.post(NS, json=CPU, headers=callers.admin)).status_code == 409
    shown = (
        await http.get(f"{NS}/Test::CPU?resource_type=OS::Glance::Image", headers=callers.admin)
    ).json()
    assert set(shown["properties"]) == {"hw_cpu_policy", "hw_cpu_cores"}
    assert set(shown["objects"][0]["properties"]) == {"hw_cpu_threads"}

    put = {
        "namespace": "Test::CPU2",
        "display_name": "CPU 2",
        "visibility": "public",
        "protected": True,
    }
    r = await http.put(f"{NS}/Test::CPU", json=put, headers=callers.admin)
    assert r.status_code == 200
    assert (r.json()["namespace"], r.json()["protected"]) == ("Test::CPU2", True)
    assert (await http.get(f"{NS}/Test::CPU", headers=callers.admin)).status_code == 404
    await _create(http, callers.admin, {"namespace": "Other"})
    clash = await http.put(f"{NS}/Other", json={"namespace": "Test::CPU2"}, headers=callers.admin)
    assert clash.status_code == 409
    assert (await http.delete(f"{NS}/Test::CPU2", headers=callers.admin)).status_code == 403
    await http.put(
        f"{NS}/Test::CPU2",
        json={"namespace": "Test::CPU2", "protected": False},
        headers=callers.admin,
    )
    r = await http.delete(f"{NS}/Test::CPU2", headers=callers.admin)
    assert (r.status_code, r.content) == (204, b"")
    assert (await http.get(f"{NS}/Test::CPU2/properties", headers=callers.admin)).status_code == 404


async def test_create_validation(http: httpx.AsyncClient, callers: Callers) -> None:
    bad = [
        {},
        {"namespace": ""},
        {"namespace": "x", "visibility": "shared"},
        {"namespace": "x", "protected": "yes"},
        {"namespace": "x", "bogus": 1},
        {"namespace": "x", "properties": {"p": {"title": "P", "type": "nonsense"}}},
        {"namespace": "x", "properties": {"p": {"type": "string"}}},
    ]
    for body in bad:
        r = await http.post(NS, json=body, headers=callers.admin)
        assert r.status_code == 400, body
    r = await http.post(
        NS, content=b"{nope", headers={**callers.admin, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    r = await _create(http, callers.admin, {"namespace": "Plain"})
    assert (r.json()["visibility"], r.json()["protected"]) == ("private", False)


async def test_list_paging_and_filters(http: httpx.AsyncClient, callers: Callers) -> None:
    for i in range(5):
        body = {"namespace": f"NS{i}", "visibility": "public" if i % 2 == 0 else "private"}
        if i < 2:
            body["resource_type_associations"] = [{"name": "OS::Nova::Flavor"}]
        await _create(http, callers.admin, body)
    r = await http.get(f"{NS}?limit=2", headers=callers.admin)
    body = r.json()
    assert [n["namespace"] for n in body["namespaces"]] == ["NS4", "NS3"]
    assert body["schema"] == "/v2/schemas/metadefs/namespaces"
    assert body["first"] == "/v2/metadefs/namespaces?limit=2"
    assert body["next"] == "/v2/metadefs/namespaces?limit=2&marker=NS3"
    seen = [n["namespace"] for n in body["namespaces"]]
    while "next" in body:
        body = (await http.get(body["next"], headers=callers.admin)).json()
        seen += [n["namespace"] for n in body["namespaces"]]
    assert seen == ["NS4", "NS3", "NS2", "NS1", "NS0"]
    asc = (await http.get(f"{NS}?sort_key=namespace&sort_dir=asc", headers=callers.admin)).json()
    assert [n["namespace"] for n in asc["namespaces"]] == ["NS0", "NS1", "NS2", "NS3", "NS4"]
    pub = (await http.get(f"{NS}?visibility=public", headers=callers.admin)).json()
    assert [n["namespace"] for n in pub["namespaces"]] == ["NS4", "NS2", "NS0"]
    rt = (
        await http.get(f"{NS}?resource_types=OS::Nova::Flavor,Nope", headers=callers.admin)
    ).json()
    assert [n["namespace"] for n in rt["namespaces"]] == ["NS1", "NS0"]
    assert rt["namespaces"][0]["resource_type_associations"][0]["name"] == "OS::Nova::Flavor"
    for query in (
        "marker=unknown",
        "limit=-1",
        "limit=x",
        "sort_key=owner",
        "sort_dir=up",
        "visibility=shared",
    ):
        assert (await http.get(f"{NS}?{query}", headers=callers.admin)).status_code == 400, query


async def test_objects(http: httpx.AsyncClient, callers: Callers) -> None:
    await _create(http, callers.admin, {"namespace": "O"})
    base = f"{NS}/O/objects"
    obj = {
        "name": "Disk QoS",
        "description": "d",
        "required": ["iops"],
        "properties": {"iops": {"type": "integer", "minimum": 0}},
    }
    r = await http.post(base, json=obj, headers=callers.admin)
    assert r.status_code == 201
    body = r.json()
    assert body["self"] == "/v2/metadefs/namespaces/O/objects/Disk%20QoS"
    assert body["schema"] == "/v2/schemas/metadefs/object"
    assert (body["required"], body["properties"]) == (["iops"], obj["properties"])
    assert (await http.post(base, json=obj, headers=callers.admin)).status_code == 409
    listed = (await http.get(base, headers=callers.admin)).json()
    assert [o["name"] for o in listed["objects"]] == ["Disk QoS"]
    assert listed["schema"] == "/v2/schemas/metadefs/objects"
    r = await http.put(
        f"{base}/Disk QoS", json={**obj, "name": "Disk", "required": []}, headers=callers.admin
    )
    assert (r.status_code, r.json()["name"]) == (200, "Disk")
    assert (await http.get(f"{base}/Disk QoS", headers=callers.admin)).status_code == 404
    assert (await http.get(f"{base}/Disk", headers=callers.admin)).status_code == 200
    assert (await http.delete(f"{base}/Disk", headers=callers.admin)).status_code == 204
    assert (await http.delete(f"{base}/Disk", headers=callers.admin)).status_code == 404
    await http.post(base, json={"name": "a"}, headers=callers.admin)
    await http.post(base, json={"name": "b"}, headers=callers.admin)
    assert (await http.delete(base, headers=callers.admin)).status_code == 204
    assert (await http.get(base, headers=callers.admin)).json()["objects"] == []


async def test_properties_are_a_map(http: httpx.AsyncClient, callers: Callers) -> None:
    await _create(http, callers.admin, CPU)
    base = f"{NS}/Test::CPU/properties"
    listed = (await http.get(base, headers=callers.admin)).json()
    assert listed == {"properties": CPU["properties"]}
    new = {"name": "cpu_model", "title": "Model", "type": "string", "pattern": "^[a-z]+$"}
    r = await http.post(base, json=new, headers=callers.admin)
    assert (r.status_code, r.json()) == (201, new)
    assert (await http.post(base, json=new, headers=callers.admin)).status_code == 409
    assert (
        await http.post(base, json={"name": "x", "type": "string"}, headers=callers.admin)
    ).status_code == 400
    shown = await http.get(f"{base}/cpu_model", headers=callers.admin)
    assert shown.json() == new
    prefixed = await http.get(
        f"{base}/hw_cpu_model?resource_type=OS::Glance::Image", headers=callers.admin
    )
    assert (prefixed.status_code, prefixed.json()["name"]) == (200, "hw_cpu_model")
    r = await http.put(
        f"{base}/cpu_model", json={**new, "title": "CPU model"}, headers=callers.admin
    )
    assert (r.status_code, r.json()["title"]) == (200, "CPU model")
    assert (await http.delete(f"{base}/cpu_model", headers=callers.admin)).status_code == 204
    assert (await http.get(f"{base}/cpu_model", headers=callers.admin)).status_code == 404
    assert (await http.delete(base, headers=callers.admin)).status_code == 204
    assert (await http.get(base, headers=callers.admin)).json() == {"properties": {}}


async def test_tags_replace_and_append(http: httpx.AsyncClient, callers: Callers) -> None:
    await _create(http, callers.admin, CPU)
    base = f"{NS}/Test::CPU/tags"
    r = await http.post(base, json={"tags": [{"name": "a"}, {"name": "b"}]}, headers=callers.admin)
    assert r.status_code == 201
    assert [t["name"] for t in r.json()["tags"]] == ["a", "b"]
    names = [t["name"] for t in (await http.get(base, headers=callers.admin)).json()["tags"]]
    assert names == ["a", "b"]  # replaced "fast"
    append = {**callers.admin, "X-Openstack-Append": "true"}
    r = await http.post(base, json={"tags": [{"name": "c"}]}, headers=append)
    assert r.status_code == 201
    names = [t["name"] for t in (await http.get(base, headers=callers.admin)).json()["tags"]]
    assert names == ["a", "b", "c"]
    assert (
        await http.post(base, json={"tags": [{"name": "a"}]}, headers=append)
    ).status_code == 409
    dup = {"tags": [{"name": "x"}, {"name": "x"}]}
    assert (await http.post(base, json=dup, headers=callers.admin)).status_code == 409
    r = await http.post(f"{base}/d", headers=callers.admin)
    assert (r.status_code, r.json()["name"]) == (201, "d")
    assert set(r.json()) == {"name", "created_at", "updated_at"}
    assert (await http.post(f"{base}/d", headers=callers.admin)).status_code == 409
    r = await http.put(f"{base}/d", json={"name": "e"}, headers=callers.admin)
    assert (r.status_code, r.json()["name"]) == (200, "e")
    assert (
        await http.put(f"{base}/e", json={"name": "a"}, headers=callers.admin)
    ).status_code == 409
    assert (await http.get(f"{base}/e", headers=callers.admin)).status_code == 200
    assert (await http.delete(f"{base}/e", headers=callers.admin)).status_code == 204
    assert (await http.get(f"{base}/e", headers=callers.admin)).status_code == 404
    assert (await http.delete(base, headers=callers.admin)).status_code == 204
    assert (await http.get(base, headers=callers.admin)).json() == {"tags": []}


async def test_resource_types_and_associations(http: httpx.AsyncClient, callers: Callers) -> None:
    await _create(http, callers.admin, CPU)
    types = (await http.get("/v2/metadefs/resource_types", headers=callers.admin)).json()
    assert [t["name"] for t in types["resource_types"]] == ["OS::Glance::Image"]
    base = f"{NS}/Test::CPU/resource_types"
    body = {"name": "OS::Cinder::Volume", "prefix": "hw_", "properties_target": "image"}
    r = await http.post(base, json=body, headers=callers.admin)
    assert r.status_code == 201
    assert {k: r.json()[k] for k in body} == body
    assert (await http.post(base, json=body, headers=callers.admin)).status_code == 409
    listed = (await http.get(base, headers=callers.admin)).json()["resource_type_associations"]
    assert [a["name"] for a in listed] == ["OS::Glance::Image", "OS::Cinder::Volume"]
    assert (
        await http.delete(f"{base}/OS::Cinder::Volume", headers=callers.admin)
    ).status_code == 204
    assert (
        await http.delete(f"{base}/OS::Cinder::Volume", headers=callers.admin)
    ).status_code == 404
    types = (await http.get("/v2/metadefs/resource_types", headers=callers.admin)).json()
    assert len(types["resource_types"]) == 2  # resource types outlive associations


async def test_methods_bodies_and_schemas(http: httpx.AsyncClient, callers: Callers) -> None:
    r = await http.patch(NS, json={}, headers=callers.admin)
    assert (r.status_code, r.headers["allow"]) == (405, "GET, POST")
    r = await http.request("DELETE", f"{NS}/x", content=b"{}", headers=callers.admin)
    assert r.status_code == 400
    assert (await http.get(NS)).status_code == 401
    for name in (
        "namespace",
        "namespaces",
        "resource_type",
        "resource_types",
        "object",
        "objects",
        "property",
        "properties",
        "tag",
        "tags",
    ):
        r = await http.get(f"/v2/schemas/metadefs/{name}", headers=callers.p1_reader)
        assert r.status_code == 200, name
        assert "properties" in r.json()
    ns_schema = (await http.get("/v2/schemas/metadefs/namespace", headers=callers.admin)).json()
    assert ns_schema["name"] == "namespace"
    assert ns_schema["properties"]["visibility"]["enum"] == ["public", "private"]
