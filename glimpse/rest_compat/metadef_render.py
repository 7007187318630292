"""Glance JSON for metadefs: namespaces, objects, properties (a map), tags, resource types.

Unset optional attributes are left out (as Glance does); links are relative ``/v2/...``;
times have second precision and ``Z``. ``prefix`` renders property names as a resource type
sees them (``?resource_type=``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from glimpse.core.clock import iso
from glimpse.models.metadef_tables import MetadefObject, MetadefProperty, MetadefTag
from glimpse.resolvers.metadefs import Association, NamespaceRecord

NS_PATH = "/v2/metadefs/namespaces"


def ns_path(name: str) -> str:
    return f"{NS_PATH}/{quote(name, safe=':')}"


def _times(row: Any) -> dict[str, Any]:
    return {"created_at": iso(row.created_at), "updated_at": iso(row.updated_at)}


def association_json(a: Association) -> dict[str, Any]:
    body: dict[str, Any] = {"name": a.name}
    if a.prefix is not None:
        body["prefix"] = a.prefix
    if a.properties_target is not None:
        body["properties_target"] = a.properties_target
    if a.created_at is not None:
        body.update(_times(a))
    return body


def namespace_json(rec: NamespaceRecord, *, full: bool = False, prefix: str = "") -> dict[str, Any]:
    """A namespace; ``full`` adds properties, objects and tags (GET of one namespace)."""
    ns = rec.ns
    body: dict[str, Any] = {"namespace": ns.namespace}
    for key in ("display_name", "description"):
        if getattr(ns, key) is not None:
            body[key] = getattr(ns, key)
    body.update(visibility=ns.visibility, protected=ns.protected, owner=ns.owner, **_times(ns))
    if rec.associations:
        body["resource_type_associations"] = [association_json(a) for a in rec.associations]
    if full:
        if rec.properties:
            body["properties"] = properties_map(rec.properties, prefix)
        if rec.objects:
            body["objects"] = [_embedded_object(o, prefix) for o in rec.objects]
        if rec.tags:
            body["tags"] = [{"name": t.name} for t in rec.tags]
    body.update(self=ns_path(ns.namespace), schema="/v2/schemas/metadefs/namespace")
    return body


def _embedded_object(o: MetadefObject, prefix: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": o.name}
    if o.description is not None:
        body["description"] = o.description
    if o.required:
        body["required"] = [prefix + r for r in o.required]
    body["properties"] = {prefix + k: v for k, v in o.properties.items()}
    return body


def object_json(namespace: str, o: MetadefObject) -> dict[str, Any]:
    body = _embedded_object(o, "")
    body.setdefault("required", [])
    body.update(
        **_times(o),
        self=f"{ns_path(namespace)}/objects/{quote(o.name, safe='')}",
        schema="/v2/schemas/metadefs/object",
    )
    return body


def properties_map(rows: list[MetadefProperty], prefix: str = "") -> dict[str, Any]:
    return {prefix + p.name: dict(p.json_schema) for p in rows}


def property_json(p: MetadefProperty, name: str | None = None) -> dict[str, Any]:
    return {"name": name or p.name, **p.json_schema}


def tag_json(t: MetadefTag) -> dict[str, Any]:
    return {"name": t.name, **_times(t)}
