"""``/v2/schemas/metadefs/*``: the metadata-definition schemas, shaped as Glance serves them.

python-glanceclient downloads ``metadefs/namespace`` and ``metadefs/resource_type`` at CLI
start-up (to build ``md-*`` options), so they must exist even before the metadefs API itself.
Every document is the "raw" form: ``additionalProperties: false``, ``required`` and shared
``definitions`` where Glance has them; collections wrap their item.
"""

from __future__ import annotations

import copy
from typing import Any

_JSON_TYPES = ["array", "boolean", "integer", "number", "object", "string", None]


def _times() -> dict[str, Any]:
    return {
        "created_at": {
            "type": "string",
            "readOnly": True,
            "description": "Creation time.",
            "format": "date-time",
        },
        "updated_at": {
            "type": "string",
            "readOnly": True,
            "description": "Last change.",
            "format": "date-time",
        },
    }


def _links() -> dict[str, Any]:
    return {
        "schema": {"readOnly": True, "type": "string"},
        "self": {"readOnly": True, "type": "string"},
    }


def property_fields() -> dict[str, Any]:
    """The JSON-schema keywords a metadef property definition may carry."""
    return {
        "name": {"type": "string", "maxLength": 80},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": {"type": "string", "enum": list(_JSON_TYPES)},
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
                "type": {"type": "string", "enum": list(_JSON_TYPES)},
                "enum": {"type": "array"},
            },
        },
        "maxItems": {"$ref": "#/definitions/positiveInteger"},
        "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "uniqueItems": {"type": "boolean", "default": False},
        "additionalItems": {"type": "boolean"},
    }


def _numbers(*, min_items: bool) -> dict[str, Any]:
    string_array: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
    if min_items:
        string_array["minItems"] = 1
    string_array["uniqueItems"] = True
    return {
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {
            "allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]
        },
        "stringArray": string_array,
    }


def definitions() -> dict[str, Any]:
    """Shared by namespace and object schemas: ``#/definitions/property`` and helpers."""
    return {
        **_numbers(min_items=False),
        "property": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["title", "type"],
                "properties": property_fields(),
            },
        },
    }


def _raw(
    name: str, props: dict[str, Any], required: list[str], defs: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "properties": props, "additionalProperties": False}
    if defs:
        body["definitions"] = defs
    if required:
        body["required"] = required
    return body


def namespace() -> dict[str, Any]:
    named = {"type": "object", "properties": {"name": {"type": "string"}}}
    props = {
        "namespace": {"type": "string", "description": "Unique namespace name.", "maxLength": 80},
        "display_name": {"type": "string", "description": "Display name.", "maxLength": 80},
        "description": {"type": "string", "description": "What it describes.", "maxLength": 500},
        "visibility": {"type": "string", "description": "Scope.", "enum": ["public", "private"]},
        "protected": {"type": "boolean", "description": "Protected from deletion."},
        "owner": {"type": "string", "description": "Owning project.", "maxLength": 255},
        **_times(),
        **_links(),
        "resource_type_associations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "prefix": {"type": "string"},
                    "properties_target": {"type": "string"},
                },
            },
        },
        "properties": {"$ref": "#/definitions/property"},
        "objects": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "required": {"$ref": "#/definitions/stringArray"},
                    "properties": {"$ref": "#/definitions/property"},
                },
            },
        },
        "tags": {"type": "array", "items": named},
    }
    return _raw("namespace", props, ["namespace"], definitions())


def resource_type() -> dict[str, Any]:
    props = {
        "name": {"type": "string", "description": "Resource type name.", "maxLength": 80},
        "prefix": {"type": "string", "description": "Prefix of property names.", "maxLength": 80},
        "properties_target": {
            "type": "string",
            "description": "Which properties of the resource the namespace targets.",
            "maxLength": 80,
        },
        **_times(),
    }
    return _raw("resource_type_association", props, ["name"])


def property_() -> dict[str, Any]:
    return _raw("property", property_fields(), ["type", "title", "name"], _numbers(min_items=True))


def object_() -> dict[str, Any]:
    props = {
        "name": {"type": "string", "maxLength": 80},
        "description": {"type": "string"},
        "required": {"$ref": "#/definitions/stringArray"},
        "properties": {"$ref": "#/definitions/property"},
        **_links(),
        **_times(),
    }
    return _raw("object", props, ["name"], definitions())


def tag() -> dict[str, Any]:
    return _raw("tag", {"name": {"type": "string", "maxLength": 80}, **_times()}, ["name"])


def _collection(name: str, item: dict[str, Any], *, as_map: bool = False) -> dict[str, Any]:
    item = copy.deepcopy(item)
    defs = item.pop("definitions", None)
    container: dict[str, Any] = (
        {"type": "object", "additionalProperties": item}
        if as_map
        else {"type": "array", "items": item}
    )
    body: dict[str, Any] = {
        "name": name,
        "properties": {
            name: container,
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }
    if defs:
        body["definitions"] = defs
    return body


def documents() -> dict[str, dict[str, Any]]:
    """Every metadef schema by its name under ``/v2/schemas/metadefs/``."""
    listed_property = property_()
    listed_property["required"] = ["type", "title"]
    return {
        "namespace": namespace(),
        "namespaces": _collection("namespaces", namespace()),
        "resource_type": resource_type(),
        "resource_types": _collection("resource_type_associations", resource_type()),
        "property": property_(),
        "properties": _collection("properties", listed_property, as_map=True),
        "object": object_(),
        "objects": _collection("objects", object_()),
        "tag": tag(),
        "tags": _collection("tags", tag()),
    }
