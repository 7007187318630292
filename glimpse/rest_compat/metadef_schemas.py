"""``/v2/schemas/metadefs/*``: JSON schemas of the metadefs entities, in Glance's shape.

Static documents (no auth-dependent content). python-glanceclient caches ``namespace`` and
``resource_type`` to build its CLI options, so those two follow Glance's closely.
"""

from __future__ import annotations

import copy
from typing import Any

_TIME = {"type": "string", "readOnly": True, "format": "date-time"}
_PROPERTY_TYPES = ["array", "boolean", "integer", "number", "object", "string", "null"]

_PROPERTY_BODY: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 255},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "operators": {"type": "array", "items": {"type": "string"}},
    "type": {"type": "string", "enum": _PROPERTY_TYPES},
    "required": {"$ref": "#/definitions/stringArray"},
    "minimum": {"type": "number"},
    "maximum": {"type": "number"},
    "maxLength": {"$ref": "#/definitions/positiveInteger"},
    "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "pattern": {"type": "string", "format": "regex"},
    "enum": {"type": "array"},
    "readonly": {"type": "boolean"},
    "default": {},
    "items": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": _PROPERTY_TYPES},
            "enum": {"type": "array"},
        },
    },
    "maxItems": {"$ref": "#/definitions/positiveInteger"},
    "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "uniqueItems": {"type": "boolean", "default": False},
    "additionalItems": {"type": "boolean"},
}

_DEFINITIONS: dict[str, Any] = {
    "positiveInteger": {"type": "integer", "minimum": 0},
    "positiveIntegerDefault0": {
        "allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]
    },
    "stringArray": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    "property": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "required": ["title", "type"],
            "properties": {k: v for k, v in _PROPERTY_BODY.items() if k != "name"},
        },
    },
}

_ASSOCIATION = {
    "name": {"type": "string", "maxLength": 80, "description": "Resource type names."},
    "prefix": {"type": "string", "maxLength": 80, "description": "Prefix for properties."},
    "properties_target": {"type": "string", "maxLength": 80},
    "created_at": _TIME,
    "updated_at": _TIME,
}

_OBJECT = {
    "name": {"type": "string", "maxLength": 80},
    "description": {"type": "string"},
    "required": {"$ref": "#/definitions/stringArray"},
    "properties": {"$ref": "#/definitions/property"},
    "schema": {"type": "string", "readOnly": True},
    "self": {"type": "string", "readOnly": True},
    "created_at": _TIME,
    "updated_at": _TIME,
}

_TAG = {"name": {"type": "string", "maxLength": 255}, "created_at": _TIME, "updated_at": _TIME}

_NAMESPACE = {
    "namespace": {"type": "string", "maxLength": 80, "description": "The unique namespace text."},
    "display_name": {"type": "string", "maxLength": 80},
    "description": {"type": "string", "maxLength": 500},
    "visibility": {"type": "string", "enum": ["public", "private"]},
    "protected": {"type": "boolean"},
    "owner": {"type": "string", "maxLength": 255},
    "created_at": _TIME,
    "updated_at": _TIME,
    "schema": {"type": "string", "readOnly": True},
    "self": {"type": "string", "readOnly": True},
    "resource_type_associations": {
        "type": "array",
        "items": {"type": "object", "properties": _ASSOCIATION},
    },
    "properties": {"$ref": "#/definitions/property"},
    "objects": {"type": "array", "items": {"type": "object", "properties": _OBJECT}},
    "tags": {"type": "array", "items": {"type": "object", "properties": {"name": _TAG["name"]}}},
}


def _single(name: str, props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "properties": copy.deepcopy(props),
        "required": required,
        "additionalProperties": False,
        "definitions": copy.deepcopy(_DEFINITIONS),
    }


def _collection(name: str, key: str, item: dict[str, Any], links: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "properties": {
            key: {"type": "array", "items": item},
            "schema": {"type": "string"},
        },
        "definitions": copy.deepcopy(_DEFINITIONS),
    }
    if links:
        body["properties"].update(first={"type": "string"}, next={"type": "string"})
        body["links"] = [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ]
    return body


def build() -> dict[str, dict[str, Any]]:
    """Every metadefs schema by its path under ``/v2/schemas/metadefs/``."""
    namespace = _single("namespace", _NAMESPACE, ["namespace"])
    namespace["links"] = [
        {"rel": "self", "href": "{self}"},
        {"rel": "describedby", "href": "{schema}"},
    ]
    rtype = _single("resource_type_association", _ASSOCIATION, ["name"])
    obj = _single("object", _OBJECT, ["name"])
    prop = _single("property", _PROPERTY_BODY, ["name", "title", "type"])
    tag = _single("tag", _TAG, ["name"])
    props = {
        "name": "properties",
        "properties": {"properties": {"$ref": "#/definitions/property"}},
        "definitions": copy.deepcopy(_DEFINITIONS),
    }
    return {
        "namespace": namespace,
        "namespaces": _collection("namespaces", "namespaces", namespace, links=True),
        "resource_type": rtype,
        "resource_types": _collection(
            "resource_type_associations", "resource_type_associations", rtype, links=True
        ),
        "object": obj,
        "objects": _collection("objects", "objects", obj, links=True),
        "property": prop,
        "properties": props,
        "tag": tag,
        "tags": _collection("tags", "tags", tag, links=True),
    }


SCHEMAS = build()
