"""Custom scalars. GraphQL's ``Int`` is 32-bit; image sizes are not."""

from __future__ import annotations

from typing import Any, NewType

import strawberry


def _parse_bigint(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("BigInt cannot be a boolean")
    return int(value)


BigInt = strawberry.scalar(
    NewType("BigInt", int),
    serialize=int,
    parse_value=_parse_bigint,
    description="A 64-bit integer (sizes in bytes). Serialized as a JSON number; accepted as a "
    "number or a decimal string.",
)

JSON = strawberry.scalar(
    NewType("JSON", object),
    serialize=lambda v: v,
    parse_value=lambda v: v,
    description="Arbitrary JSON value.",
)
