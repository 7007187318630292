"""Pure validation for metadefs: namespace attributes, property schemas, names, and the
check of an image property value against a property definition (the optional
``validate_image_properties`` setting). No database, no I/O.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from glimpse.core.errors import InvalidInput
from glimpse.resolvers import text

PROPERTY_TYPES = ("array", "boolean", "integer", "number", "object", "string", "null")
NAMESPACE_FIELDS = ("namespace", "display_name", "description", "visibility", "protected", "owner")
READ_ONLY = ("created_at", "updated_at", "self", "schema")


@dataclass
class ObjectInput:
    """An object definition: a name, an optional description, required names, properties."""

    name: str
    description: str | None = None
    required: list[str] | None = None
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)


def _name(value: Any, what: str, max_len: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"'{what}' must be a non-empty string")
    if len(value) > max_len:
        raise InvalidInput(f"'{what}' is longer than {max_len} characters")
    text.check(value, f"'{what}'")
    path_segment(value, what)
    return value


def path_segment(value: str, what: str) -> None:
    """Metadef names are path segments of their own URLs (``/v2/metadefs/namespaces/{name}``):
    ``.`` and ``..`` are rewritten by every HTTP client and proxy (a namespace named
    ``..`` could never be read or deleted again), and a ``/`` cannot be told from the
    path's own separators once decoded."""
    if value in (".", "..") or "/" in value:
        raise InvalidInput(f"'{what}' cannot be '.', '..' or contain '/': {value!r}")


def _optional_text(values: dict[str, Any], key: str, max_len: int | None) -> None:
    value = values.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidInput(f"'{key}' must be a string")
    if max_len is not None and len(value) > max_len:
        raise InvalidInput(f"'{key}' is longer than {max_len} characters")
    text.check(value, f"'{key}'")


def namespace_values(raw: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The namespace columns from a request body (unknown keys are a 400)."""
    unknown = set(raw) - set(NAMESPACE_FIELDS) - set(READ_ONLY)
    if unknown:
        raise InvalidInput(f"Unknown namespace attribute(s): {', '.join(sorted(unknown))}")
    values = {k: raw[k] for k in NAMESPACE_FIELDS if k in raw}
    if creating or "namespace" in values:
        values["namespace"] = _name(values.get("namespace"), "namespace", 80)
    _optional_text(values, "display_name", 80)
    _optional_text(values, "description", 500)
    _optional_text(values, "owner", 255)
    if "visibility" in values and values["visibility"] not in ("public", "private"):
        raise InvalidInput(f"Invalid visibility: {values['visibility']!r} (public or private)")
    if "protected" in values and not isinstance(values["protected"], bool):
        raise InvalidInput("'protected' must be a boolean")
    if creating:
        values.setdefault("visibility", "private")
        values.setdefault("protected", False)
    if values.get("visibility", "private") is None or values.get("protected", False) is None:
        raise InvalidInput("'visibility' and 'protected' may not be null")
    return values


def property_schema(name: str, schema: Any, *, in_object: bool = False) -> dict[str, Any]:
    """A property definition without its name; ``type`` (and ``title`` outside objects)
    are required, as in Glance's property schema."""
    _name(name, "name", 255)
    if not isinstance(schema, dict):
        raise InvalidInput(f"Property {name!r} must be a JSON object")
    body = {k: v for k, v in schema.items() if k not in ("name", *READ_ONLY)}
    text.check_tree(body, f"definition of property {name!r}")
    if body.get("type") not in PROPERTY_TYPES:
        raise InvalidInput(f"Property {name!r}: 'type' must be one of {', '.join(PROPERTY_TYPES)}")
    if not in_object and not isinstance(body.get("title"), str):
        raise InvalidInput(f"Property {name!r}: 'title' is required and must be a string")
    if "enum" in body and not isinstance(body["enum"], list):
        raise InvalidInput(f"Property {name!r}: 'enum' must be an array")
    if "pattern" in body:
        try:
            re.compile(str(body["pattern"]))
        except re.error as exc:
            raise InvalidInput(f"Property {name!r}: invalid pattern: {exc}") from exc
    return body


def property_row(name: str, schema: Any) -> dict[str, Any]:
    return {"name": name, "json_schema": property_schema(name, schema)}


def object_row(obj: ObjectInput) -> dict[str, Any]:
    _name(obj.name, "name", 80)
    if obj.description is not None and not isinstance(obj.description, str):
        raise InvalidInput("'description' must be a string")
    text.check(obj.description, "'description'")
    text.check_tree(obj.required, "'required'")
    if obj.required is not None and (
        not isinstance(obj.required, list) or not all(isinstance(r, str) for r in obj.required)
    ):
        raise InvalidInput("'required' must be an array of property names")
    if not isinstance(obj.properties, dict):
        raise InvalidInput("'properties' must be a JSON object")
    props = {k: property_schema(k, v, in_object=True) for k, v in obj.properties.items()}
    return {
        "name": obj.name,
        "description": obj.description,
        "required": obj.required,
        "properties": props,
    }


def object_input(body: Any) -> ObjectInput:
    """An object definition from a JSON body."""
    if not isinstance(body, dict):
        raise InvalidInput("An object definition must be a JSON object")
    return ObjectInput(
        name=body.get("name"),  # type: ignore[arg-type]  # checked by object_row
        description=body.get("description"),
        required=body.get("required"),
        properties=body.get("properties") or {},
    )


def tag_name(value: Any) -> str:
    return _name(value, "name", 255)


def association(name: Any, prefix: Any, target: Any) -> None:
    _name(name, "name", 80)
    for key, value in (("prefix", prefix), ("properties_target", target)):
        if value is not None and (not isinstance(value, str) or len(value) > 80):
            raise InvalidInput(f"'{key}' must be a string of at most 80 characters")
        text.check(value, f"'{key}'")


# ---------------------------------------------------------------------------- image values


def check_value(name: str, schema: dict[str, Any], value: str) -> str | None:
    """Why ``value`` (an image property, always a string) breaks ``schema``; None if it fits.

    Checks type, enum, minimum/maximum, pattern and minLength/maxLength; arrays and objects
    are not representable as one image property string and are not checked.
    """
    kind = schema.get("type")
    typed: Any = value
    if kind in ("integer", "number"):
        typed = _number(value, integer=kind == "integer")
        if typed is None:
            return f"property '{name}' must be of type {kind} (got {value!r})"
    elif kind == "boolean":
        if value.lower() not in ("true", "false"):
            return f"property '{name}' must be a boolean, true or false (got {value!r})"
        typed = value.lower() == "true"
    return (
        _enum(name, schema, typed, value)
        or _bounds(name, schema, typed)
        or _text(name, schema, value, kind)
    )


def _number(value: str, *, integer: bool) -> float | int | None:
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        return None
    if isinstance(number, float) and not math.isfinite(number):
        return None
    return number


def _enum(name: str, schema: dict[str, Any], typed: Any, raw: str) -> str | None:
    allowed = schema.get("enum")
    if isinstance(allowed, list) and typed not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        return f"property '{name}' must be one of the enum values [{shown}] (got {raw!r})"
    return None


def _bounds(name: str, schema: dict[str, Any], typed: Any) -> str | None:
    if not isinstance(typed, int | float) or isinstance(typed, bool):
        return None
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float) and typed < low:
        return f"property '{name}' must be >= minimum {low} (got {typed})"
    if isinstance(high, int | float) and typed > high:
        return f"property '{name}' must be <= maximum {high} (got {typed})"
    return None


def _text(name: str, schema: dict[str, Any], value: str, kind: Any) -> str | None:
    if kind != "string":
        return None
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and re.search(pattern, value) is None:
        return f"property '{name}' must match pattern {pattern!r} (got {value!r})"
    low, high = schema.get("minLength"), schema.get("maxLength")
    if isinstance(low, int) and len(value) < low:
        return f"property '{name}' must have minLength {low} (got {len(value)} characters)"
    if isinstance(high, int) and len(value) > high:
        return f"property '{name}' must have maxLength {high} (got {len(value)} characters)"
    return None
