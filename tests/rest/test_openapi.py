"""The OpenAPI description covers exactly the routes we serve, and the docs page lists them.

The fuzzing run against a live server is in tests/rest/test_openapi_fuzz.py.
"""

from __future__ import annotations

import jsonschema

from glimpse.rest_compat.openapi import all_operations, build
from glimpse.rest_compat.routes import ROUTES
from tests.rest.conftest import Api


def test_description_matches_route_table() -> None:
    described = {(p, m) for p, methods in all_operations().items() for m in methods}
    served = {(p, m) for p, methods in ROUTES.items() for m in methods}
    assert described == served
    paths = build()["paths"]
    assert "/" in paths
    assert "/versions" in paths


def test_operations_are_well_formed() -> None:
    doc = build()
    assert doc["openapi"].startswith("3.1")
    operation_ids = set()
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            assert op["operationId"] not in operation_ids
            operation_ids.add(op["operationId"])
            assert op["responses"], (path, method)
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}
    for name, schema in doc["components"]["schemas"].items():
        assert name
        jsonschema.Draft202012Validator.check_schema(schema)


async def test_served_documents(api: Api) -> None:
    r = await api.get("/v2/openapi.json", who=None)
    assert r.status_code == 200
    assert r.json() == build()
    page = await api.get("/v2/docs", who=None)
    assert page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text  # self-contained: no CDN, no scripts
    assert "http" not in page.text.replace("http://www.w3", "")
    for path in ("/v2/images/{image_id}/members", "/v2/info/usage", "/v2/schemas/image"):
        assert f"<code>{path}</code>" in page.text


async def test_image_component_is_the_served_schema(api: Api) -> None:
    served = (await api.get("/v2/schemas/image")).json()
    component = build()["components"]["schemas"]["Image"]
    assert component["properties"] == served["properties"]
    image = await api.create(name="x", k="v")
    jsonschema.Draft202012Validator(component).validate(image)


def test_links_target_existing_operations() -> None:
    doc = build()
    ids = {op["operationId"] for methods in doc["paths"].values() for op in methods.values()}
    created = doc["paths"]["/v2/images"]["post"]["responses"]["201"]
    targets = {link["operationId"] for link in created["links"].values()}
    assert targets
    assert targets <= ids
