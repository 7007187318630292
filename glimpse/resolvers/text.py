"""Text every database can store: no NUL character, no unpaired surrogate.

PostgreSQL refuses U+0000 in text values, and no driver can encode a lone surrogate
(U+D800-U+DFFF, which a JSON ``\\ud800`` escape or a percent-decoded path produces) as
UTF-8. Both would surface as a database error (500) on one database and not the other, so
every text that enters an operation - names, property keys and values, tags, member ids,
metadef names, task input, path segments - is checked here first and refused as bad input
(400) on both.
"""

from __future__ import annotations

from typing import Any

from glimpse.core.errors import InvalidInput
from glimpse.core.values import text_problem as problem

__all__ = ["check", "check_tree", "problem"]

MAX_DEPTH = 64


def check(value: Any, what: str) -> None:
    """Refuse a string that cannot be stored; other types pass (their own checks apply)."""
    if isinstance(value, str):
        found = problem(value)
        if found is not None:
            raise InvalidInput(f"Invalid {what}: it {found}")


def check_tree(value: Any, what: str, depth: int = 0) -> None:
    """:func:`check` every string in a JSON-like value, keys included."""
    if depth > MAX_DEPTH:
        raise InvalidInput(f"Invalid {what}: nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            check(key, f"{what} (a key)")
            check_tree(item, what, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            check_tree(item, what, depth + 1)
    else:
        check(value, what)
