"""Custom scalars. GraphQL's ``Int`` is 32-bit; image sizes are not.

The Python types are ``NewType``s; their GraphQL definitions are registered through
:data:`SCALAR_MAP` in the schema config (Strawberry's supported way).
"""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

BigInt = NewType("BigInt", int)
JSON = NewType("JSON", object)


def _parse_bigint(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("BigInt cannot be a boolean")
    return int(value)


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
        serialize=lambda v: v,
        parse_value=lambda v: v,
        description="Arbitrary JSON value.",
    ),
}
