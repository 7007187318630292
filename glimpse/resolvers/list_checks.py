"""Values of a list request, checked before the query compiler binds them.

The compiler (glimpse.models.query) validates names and operators; the values it binds go
to the database as they are. A value the database cannot hold is not a 500 but
``InvalidInput``: integers past the column's range (64 bits for sizes, 32 bits for
min_disk/min_ram on PostgreSQL), fractions where integers are compared, text with NUL or
lone surrogates, keyset values that are not plain values; and the request's shape is
bounded (filter count, list lengths) so no request compiles to an unbounded statement.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer

from glimpse.core.errors import InvalidInput
from glimpse.core.values import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, check_text
from glimpse.models import query as q
from glimpse.models.tables import Image, table_of

MAX_FILTERS = 64
MAX_VALUES = 1000
_COLUMNS = table_of(Image).c


def check_list_query(query: q.ListQuery) -> None:
    """Refuse (InvalidInput) what the database could not compare; see the module doc."""
    if len(query.filters) > MAX_FILTERS:
        raise InvalidInput(f"At most {MAX_FILTERS} filters per request")
    for f in query.filters:
        if isinstance(f, q.TagFilter):
            _values("tags", f.tags)
        elif isinstance(f, q.PropertyFilter):
            _text("property name", f.name)
            _values(f.name, f.value if f.op == "in" else (f.value,))
        else:
            _field_values(f)
    for key in query.sort:
        _text("sort key", key.field)
    if query.after is not None:
        for v in query.after.values:
            _keyset_value(v)


def _field_values(f: q.FieldFilter) -> None:
    values = f.value if f.op == "in" else (f.value,)
    if not isinstance(values, list | tuple):
        raise InvalidInput(f"Filter '{f.field}' with 'in' takes a list")
    _values(f.field, values)
    column = _COLUMNS.get(f.field)
    if column is None or not isinstance(column.type, Integer):
        return
    low, high = (
        (INT64_MIN, INT64_MAX) if isinstance(column.type, BigInteger) else (INT32_MIN, INT32_MAX)
    )
    for v in values:
        n = _integer(f.field, v)
        if n is not None and not low <= n <= high:
            raise InvalidInput(f"Value for filter '{f.field}' is out of range: {v!r}")


def _integer(name: str, value: Any) -> int | None:
    """The integer the compiler would bind for a filter value (it applies ``int()``), or
    None when it is not one (the compiler then refuses it itself)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise InvalidInput(f"Value for filter '{name}' must be a whole number: {value!r}")
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value))  # what the compiler does: "+5", " 7 ", "1_000" all count
    except ValueError:
        return None


def _values(name: str, values: Any) -> None:
    if len(values) > MAX_VALUES:
        raise InvalidInput(f"At most {MAX_VALUES} values for '{name}'")
    for v in values:
        if isinstance(v, str):
            _text(f"filter '{name}'", v)


def _text(what: str, value: Any) -> None:
    if isinstance(value, str):
        check_text(value, what=what)


def _keyset_value(value: Any) -> None:
    if value is None or isinstance(value, bool | datetime):
        return
    if isinstance(value, str):
        _text("cursor", value)
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidInput("Invalid cursor")
    elif not (isinstance(value, float) and math.isfinite(value)):
        raise InvalidInput("Invalid cursor")
