"""Cursors from clients: opaque to them, untrusted by us.

A cursor is the base64 of a JSON list of sort-key values (glimpse.models.query.Keyset).
Anything a client sends back decodes as JSON, so before it reaches a query it must be a
short list of plain values a column can be compared with: text (without NUL), a 64-bit
integer, a finite number, a boolean, null or a timestamp. Nested lists or objects,
oversized numbers and garbage are ``InvalidInput`` (``extensions.code`` INVALID_INPUT),
never a database error.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from glimpse.core.errors import InvalidInput
from glimpse.edge import jsonwire
from glimpse.models.query import Keyset

MAX_CURSOR = 1024
MAX_VALUES = 16


def decode(cursor: str) -> Keyset:
    """The keyset a cursor names, or :class:`InvalidInput`."""
    if len(cursor) > MAX_CURSOR:
        raise InvalidInput("Invalid cursor")
    try:
        keyset = Keyset.decode(cursor)
    except RecursionError as exc:
        raise InvalidInput("Invalid cursor") from exc
    if len(keyset.values) > MAX_VALUES or not all(_plain(v) for v in keyset.values):
        raise InvalidInput("Invalid cursor")
    return keyset


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, bool | datetime):
        return True
    if isinstance(value, str):
        try:
            jsonwire.check_text(value, what="a cursor")
        except InvalidInput:
            return False
        return True
    if isinstance(value, int):
        return jsonwire.INT64_MIN <= value <= jsonwire.INT64_MAX
    return isinstance(value, float) and math.isfinite(value)
