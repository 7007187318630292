"""The one strict JSON decoder for request bodies, GraphQL variables and WebSocket messages.

JSON that parses is not yet JSON this service can take. On top of the syntax, a body is
refused (:class:`~glimpse.core.errors.InvalidInput`, a 400 at both edges) when it

- nests deeper than :data:`MAX_DEPTH` levels: nothing we accept is deeper, and the
  resolvers and renderers below walk values recursively;
- holds a number outside the signed 64-bit range (a size, an offset, a page size): the
  databases store 64 bits, and a larger value would otherwise fail there, as a 500;
- holds text no database can store: a NUL character (PostgreSQL's ``text`` refuses it) or
  a lone UTF-16 surrogate (``"\\ud800"``: not Unicode at all, so not encodable as UTF-8).

orjson does the parsing (it refuses lone surrogates, NaN and nesting past 1024 itself); it
returns integers past 64 bits as floats, which is why any number at or past 2**63 is
refused here rather than silently rounded.
"""

from __future__ import annotations

from typing import Any

import orjson

from glimpse.core.errors import InvalidInput
from glimpse.core.values import INT64_MAX, INT64_MIN, check_text

__all__ = ["INT64_MAX", "INT64_MIN", "check_number", "check_text", "check_value", "loads"]

MAX_DEPTH = 64


def loads(raw: bytes | bytearray | memoryview | str, *, what: str = "request body") -> Any:
    """Parse ``raw`` and check it with :func:`check_value`; ``InvalidInput`` if it fails."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"Malformed JSON in {what}: {exc}") from exc
    check_value(value, what=what)
    return value


def check_value(value: Any, *, what: str = "request body", max_depth: int = MAX_DEPTH) -> None:
    """Refuse values nested too deeply, numbers past 64 bits and text with NUL or lone
    surrogates. Iterative, so a deep value cannot exhaust the interpreter's stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, what=what)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float):
            check_number(item, what=what)
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise InvalidInput(f"JSON in {what} is nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    check_text(key, what=what)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def check_number(value: int | float, *, what: str = "request body") -> None:
    """Numbers must fit a signed 64-bit integer's range (floats included: orjson turns
    integers too large for 64 bits into floats)."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidInput(f"A number in {what} is outside the 64-bit integer range")
