"""Custom scalars. GraphQL's ``Int`` is 32-bit; image sizes are not.

The Python types are ``NewType``s; their GraphQL definitions are registered through
:data:`SCALAR_MAP` in the schema config (Strawberry's supported way).
"""

from __future__ import annotations

import re
from typing import Any, NewType

import strawberry
from graphql import FloatValueNode, GraphQLError, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from glimpse.edge.jsonwire import INT64_MAX, INT64_MIN

BigInt = NewType("BigInt", int)
JSON = NewType("JSON", object)


_DECIMAL = re.compile(r"-?[0-9]{1,19}")


def _parse_bigint(value: Any) -> int:
    """A signed 64-bit integer from a number or a decimal string; anything else (booleans,
    fractions, exponents, values past 64 bits) is a GraphQL error (BAD_USER_INPUT), never
    rounded and never passed on to a database that would overflow."""
    if isinstance(value, bool):
        raise GraphQLError("BigInt cannot be a boolean")
    if isinstance(value, float):
        if not value.is_integer():
            raise GraphQLError("BigInt must be a whole number")
        value = int(value)
    elif isinstance(value, str):
        if not _DECIMAL.fullmatch(value.strip()):
            raise GraphQLError("BigInt strings must be decimal integers of at most 19 digits")
        value = int(value)
    if not isinstance(value, int):
        raise GraphQLError("BigInt must be an integer or a decimal string")
    if not INT64_MIN <= value <= INT64_MAX:
        raise GraphQLError("BigInt must fit in 64 bits (-2^63 .. 2^63-1)")
    return value


def _parse_bigint_literal(node: ValueNode, variables: Any = None) -> int:
    """:func:`_parse_bigint` for a literal in the document, located at that literal."""
    if not isinstance(node, IntValueNode | FloatValueNode | StringValueNode):
        raise GraphQLError("BigInt must be an integer or a decimal string", node)
    raw: Any = node.value if isinstance(node, StringValueNode) else float(node.value)
    if isinstance(node, IntValueNode):
        raw = int(node.value)
    try:
        return _parse_bigint(raw)
    except GraphQLError as exc:
        raise GraphQLError(exc.message, node, extensions={"code": "BAD_USER_INPUT"}) from None


SCALAR_MAP: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        serialize=int,
        parse_value=_parse_bigint,
        parse_literal=_parse_bigint_literal,
        description="A signed 64-bit integer (sizes in bytes). Serialized as a JSON number; "
        "accepted as a number or a decimal string.",
    ),
    JSON: strawberry.scalar(
        name="JSON",
        serialize=lambda v: v,
        parse_value=lambda v: v,
        description="Arbitrary JSON value.",
    ),
}
