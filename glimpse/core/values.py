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


def text_problem(value: str) -> str | None:
    """What keeps ``value`` from being stored, or ``None`` (the one definition of the rule;
    glimpse.resolvers.text applies it to operation inputs)."""
    if "\x00" in value:
        return "contains a NUL character (U+0000)"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired surrogate (not valid Unicode)"
    return None


def check_text(text: str, *, what: str = "request body") -> None:
    """Text must be valid Unicode without NUL characters (``InvalidInput`` otherwise)."""
    found = text_problem(text)
    if found is not None:
        raise InvalidInput(f"Text in {what} {found}")
