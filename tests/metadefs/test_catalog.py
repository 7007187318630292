"""Glance's 33 standard namespace files: loaded by the CLI, served faithfully by the API,
exported back unchanged (modulo timestamps and Glance's defaults), loaded idempotently."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from glimpse import cli
from glimpse.models.metadef_tables import MetadefNamespace, MetadefProperty, MetadefResourceType
from tests.metadefs.conftest import Callers, catalog_docs, normalized


async def _cli(monkeypatch: pytest.MonkeyPatch, database_url: str, *argv: str) -> int:
    monkeypatch.setenv("GLIMPSE_DATABASE_URL", database_url)
    return await asyncio.to_thread(cli.main, list(argv))


async def _counts(deps: Any) -> tuple[int, int, int]:
    async with deps.db.read() as s:
        out = []
        for model in (MetadefNamespace, MetadefProperty, MetadefResourceType):
            out.append((await s.exec(select(func.count()).select_from(model))).one())
        return tuple(out)  # type: ignore[return-value]


async def test_load_export_round_trip_is_idempotent(
    deps: Any, database_url: str, catalog_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = str(tmp_path / "cli")
    assert (
        await _cli(
            monkeypatch, database_url, "metadefs", "load", "--data-dir", data_dir, str(catalog_dir)
        )
        == 0
    )
    first = await _counts(deps)
    assert first[0] == 33
    assert (
        await _cli(
            monkeypatch, database_url, "metadefs", "load", "--data-dir", data_dir, str(catalog_dir)
        )
        == 0
    )
    assert await _counts(deps) == first  # updated in place, nothing duplicated

    out = tmp_path / "export"
    assert (
        await _cli(
            monkeypatch, database_url, "metadefs", "export", "--data-dir", data_dir, str(out)
        )
        == 0
    )
    exported = {d["namespace"]: d for d in (json.loads(p.read_text()) for p in out.glob("*.json"))}
    originals = catalog_docs(catalog_dir)
    assert set(exported) == {d["namespace"] for d in originals}
    for doc in originals:
        assert normalized(exported[doc["namespace"]]) == normalized(doc), doc["namespace"]

    # An export loads back into the same state.
    assert (
        await _cli(monkeypatch, database_url, "metadefs", "load", "--data-dir", data_dir, str(out))
        == 0
    )
    assert await _counts(deps) == first


def _expected_associations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: a[k] for k in ("name", "prefix", "properties_target") if k in a}
        for a in doc["resource_type_associations"]
    ]


async def test_api_serves_the_catalog_faithfully(
    http: httpx.AsyncClient, callers: Callers, deps: Any, catalog_dir: Path
) -> None:
    from glimpse.resolvers.metadef_catalog import import_documents
    from tests.conftest import ctx

    docs = catalog_docs(catalog_dir)
    await import_documents(deps, ctx("admin", "admin"), docs)
    listed = (await http.get("/v2/metadefs/namespaces?limit=100", headers=callers.admin)).json()
    assert len(listed["namespaces"]) == 33
    for doc in docs:
        path = f"/v2/metadefs/namespaces/{quote(doc['namespace'], safe=':')}"
        got = (await http.get(path, headers=callers.admin)).json()
        for key in ("namespace", "display_name", "description"):
            assert got[key] == doc[key]
        assert got["visibility"] == doc.get("visibility", "private")
        assert got["protected"] == doc.get("protected", False)
        assert got.get("properties", {}) == doc.get("properties", {})
        assert got.get("objects", []) == doc.get("objects", [])
        assoc = [
            {k: a[k] for k in ("name", "prefix", "properties_target") if k in a}
            for a in got.get("resource_type_associations", [])
        ]
        assert assoc == _expected_associations(doc)
        props = (await http.get(f"{path}/properties", headers=callers.admin)).json()
        assert props == {"properties": doc.get("properties", {})}
    types = (await http.get("/v2/metadefs/resource_types", headers=callers.admin)).json()
    names = {a["name"] for d in docs for a in d["resource_type_associations"]}
    assert {t["name"] for t in types["resource_types"]} == names
    # Standard files without a visibility are private to the loader's "admin" project.
    private = "/v2/metadefs/namespaces/OS::Glance::CommonImageProperties"
    assert (await http.get(private, headers=callers.p1_reader)).status_code == 404
    public = (await http.get("/v2/metadefs/namespaces?limit=100", headers=callers.p1_reader)).json()
    n_public = sum(1 for d in docs if d.get("visibility") == "public")
    assert len(public["namespaces"]) == n_public == 31
    hw = await http.get(
        "/v2/metadefs/namespaces/OS::Compute::CPUPinning?resource_type=OS::Glance::Image",
        headers=callers.p1_reader,
    )
    assert set(hw.json()["properties"]) == {"hw_cpu_policy", "hw_cpu_thread_policy"}
    flavor = await http.get(
        "/v2/metadefs/namespaces/OS::Compute::CPUPinning?resource_type=OS::Nova::Flavor",
        headers=callers.p1_reader,
    )
    assert set(flavor.json()["properties"]) == {"hw:cpu_policy", "hw:cpu_thread_policy"}
