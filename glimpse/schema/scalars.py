"""Custom scalars. GraphQL's ``Int`` is 32-bit; image sizes are not.

The Python types are plain ``NewType``s used in annotations; their GraphQL definitions are
registered through :data:`SCALAR_MAP` in the schema config (strawberry's current way; the
class-wrapping form is deprecated).
"""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition


def _parse_bigint(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("BigInt cannot be a boolean")
    return int(value)


BigInt = NewType("BigInt", int)
JSON = NewType("JSON", object)


def _identity(v: Any) -> Any:
    return v


SCALAR_MAP: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        serialize=int,
        parse_value=_parse_bigint,
        description="A 64-bit integer (sizes in bytes). Serialized as a JSON number; accepted "
        "as a number or a decimal string.",
    ),
    JSON: strawberry.scalar(
        name="JSON",
        serialize=_identity,
        parse_value=_identity,
        description="Arbitrary JSON value.",
    ),
}
