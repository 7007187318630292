"""What every stored value must be, whichever API it came through.

The databases store signed 64-bit integers and text; PostgreSQL's ``text`` cannot hold NUL,
and a lone UTF-16 surrogate is not Unicode at all (it cannot be encoded as UTF-8). The
edges check these while decoding requests (glimpse.edge.jsonwire), resolvers before
binding values into queries.
"""

from __future__ import annotations

from glimpse.core.errors import InvalidInput

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def check_text(text: str, *, what: str = "request body") -> None:
    """Text must be valid Unicode without NUL characters (``InvalidInput`` otherwise)."""
    if "\x00" in text:
        raise InvalidInput(f"Text in {what} must not contain NUL characters")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInput(f"Text in {what} is not valid Unicode (lone surrogate)") from exc
