"""A Python model of the image listing: which images a ``ListQuery`` selects and in what
order, written from the documented behaviour (ARCHITECTURE §3, the filter and sort
tables of both APIs), not from the compiler's code.

``expected(images, query, dialect)`` returns the ids in order, or raises :class:`Refused`
when the request must be refused with ``InvalidInput``.

One behaviour differs by database and is modelled as such: substring matches
(``contains``) use SQL ``LIKE``, which SQLite compares case-insensitively for ASCII
letters and PostgreSQL case-sensitively (see :data:`LIKE_FOLDS_ASCII`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from glimpse.models.query import FieldFilter, ListQuery, PropertyFilter, SortKey, TagFilter
from glimpse.resolvers.image_reads import ImageRecord

# Public filter fields and their kinds (the documented allow-list).
KINDS: dict[str, str] = {
    "id": "str",
    "name": "str",
    "status": "str",
    "visibility": "str",
    "owner": "str",
    "protected": "bool",
    "os_hidden": "bool",
    "disk_format": "str",
    "container_format": "str",
    "size": "int",
    "virtual_size": "int",
    "min_disk": "int",
    "min_ram": "int",
    "checksum": "str",
    "os_hash_algo": "str",
    "os_hash_value": "str",
    "created_at": "time",
    "updated_at": "time",
}
INT_RANGE = {
    "size": 64,
    "virtual_size": 64,
    "min_disk": 32,
    "min_ram": 32,
}
SORTABLE = (
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "virtual_size",
    "id",
    "created_at",
    "updated_at",
    "visibility",
    "owner",
    "min_disk",
    "min_ram",
)
NULL_SORTS_AS = {
    "name": "",
    "size": -1,
    "virtual_size": -1,
    "disk_format": "",
    "container_format": "",
    "owner": "",
}
ORDERED = ("gt", "gte", "lt", "lte")
LIKE_FOLDS_ASCII = {"sqlite": True, "postgres": False}
MAX_FILTERS, MAX_VALUES = 64, 1000


class Refused(Exception):
    """The model's verdict: this request is ``InvalidInput``."""


@dataclass
class Stored:
    """What the model knows of one image: its attributes, tags and properties."""

    attrs: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    props: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        value: str = self.attrs["id"]
        return value

    @classmethod
    def of(cls, record: ImageRecord) -> Stored:
        attrs = {name: getattr(record.image, name) for name in KINDS}
        return cls(attrs, list(record.tags), dict(record.properties))


# ---------------------------------------------------------------------------- values


def _bad_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _typed(kind: str, value: Any) -> Any:
    if value is None:
        return None
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text not in ("true", "false"):
                raise ValueError
            return text == "true"
        if kind == "time":
            return _time(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise Refused(f"bad value {value!r}") from exc
    return str(value)


def _time(value: Any) -> datetime:
    dt = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def _int_of(value: Any) -> int | None:
    """The integer a value stands for, as ``int()`` reads it (None: it is not one)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise Refused(f"not a whole number: {value!r}")
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def _check_values(f: FieldFilter) -> list[Any]:
    values = f.value if f.op == "in" else (f.value,)
    if not isinstance(values, list | tuple):
        raise Refused("'in' takes a list")
    if len(values) > MAX_VALUES or any(_bad_text(v) for v in values):
        raise Refused("values")
    bits = INT_RANGE.get(f.field)
    if bits is not None:
        for v in values:
            n = _int_of(v)
            if n is not None and not -(2 ** (bits - 1)) <= n < 2 ** (bits - 1):
                raise Refused("out of range")
    return list(values)


# ---------------------------------------------------------------------------- filters


def _like(haystack: str | None, needle: str, dialect: str) -> bool:
    if haystack is None:
        return False
    if LIKE_FOLDS_ASCII[dialect]:
        fold = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
        return needle.translate(fold) in haystack.translate(fold)
    return needle in haystack


def _compare(op: str, column: Any, value: Any) -> bool:
    if op == "eq":
        return column is None if value is None else column == value
    if op == "neq":
        return column is not None if value is None else (column is None or column != value)
    if column is None or value is None:
        return False
    return {
        "gt": column > value,
        "gte": column >= value,
        "lt": column < value,
        "lte": column <= value,
    }[op]


def field_matcher(f: FieldFilter, dialect: str) -> Any:
    """A predicate over :class:`Stored` for one field filter (Refused when invalid)."""
    values = _check_values(f)
    kind = KINDS.get(f.field)
    if kind is None:
        raise Refused(f"unknown field {f.field!r}")
    if f.op in ORDERED and kind not in ("int", "time"):
        raise Refused("ordered op on unordered field")
    if f.op == "in":
        wanted = [_typed(kind, v) for v in values]
        return lambda img: img.attrs[f.field] is not None and img.attrs[f.field] in wanted
    if f.op == "contains":
        if kind != "str":
            raise Refused("contains on a non-text field")
        needle = str(f.value)
        return lambda img: _like(img.attrs[f.field], needle, dialect)
    value = _typed(kind, f.value)
    if f.op not in ("eq", "neq", *ORDERED):
        raise Refused(f"unknown op {f.op!r}")
    if f.op in ORDERED and value is None:
        raise Refused("an ordering comparison needs a value")
    return lambda img: _compare(f.op, img.attrs[f.field], value)


def property_matcher(f: PropertyFilter, dialect: str) -> Any:
    if _bad_text(f.name):
        raise Refused("property name")
    values = f.value if f.op == "in" else (f.value,)
    if len(values) > MAX_VALUES or any(_bad_text(v) for v in values):
        raise Refused("property values")
    if f.op == "eq":
        return lambda img: img.props.get(f.name) == str(f.value)
    if f.op == "in":
        wanted = [str(v) for v in f.value]
        return lambda img: img.props.get(f.name) in wanted
    needle = str(f.value)
    return lambda img: _like(img.props.get(f.name), needle, dialect)


def tag_matcher(f: TagFilter) -> Any:
    if len(f.tags) > MAX_VALUES or any(_bad_text(t) for t in f.tags):
        raise Refused("tags")
    return lambda img: all(t in img.tags for t in f.tags)


# ---------------------------------------------------------------------------- sort


def effective_sort(sort: Sequence[SortKey]) -> list[SortKey]:
    for key in sort:
        if _bad_text(key.field) or key.field not in SORTABLE:
            raise Refused(f"sort key {key.field!r}")
        if key.direction not in ("asc", "desc"):
            raise Refused(f"sort direction {key.direction!r}")
    keys = list(sort) or [SortKey("created_at", "desc")]
    names = {k.field for k in keys}
    for tie in ("created_at", "id"):
        if tie not in names:
            keys.append(SortKey(tie, keys[0].direction))
    cut = next(i for i, k in enumerate(keys) if k.field == "id")
    return keys[: cut + 1]


def _sort_value(img: Stored, name: str) -> Any:
    value = img.attrs[name]
    return NULL_SORTS_AS[name] if value is None and name in NULL_SORTS_AS else value


def _order(keys: Sequence[SortKey], a: Stored, b: Stored) -> int:
    for key in keys:
        x, y = _sort_value(a, key.field), _sort_value(b, key.field)
        if x != y:
            smaller = -1 if x < y else 1
            return smaller if key.direction == "asc" else -smaller
    return 0


# ---------------------------------------------------------------------------- the model


def expected(images: Iterable[Stored], query: ListQuery, dialect: str) -> list[str]:
    """Ids the query selects, in order (ignoring ``limit`` and ``after``), or Refused."""
    if len(query.filters) > MAX_FILTERS:
        raise Refused("too many filters")
    predicates = []
    for f in query.filters:
        if isinstance(f, TagFilter):
            predicates.append(tag_matcher(f))
        elif isinstance(f, PropertyFilter):
            predicates.append(property_matcher(f, dialect))
        else:
            predicates.append(field_matcher(f, dialect))
    keys = effective_sort(query.sort)
    fields = {f.field for f in query.filters if isinstance(f, FieldFilter)}
    rows = [
        img
        for img in images
        if ("os_hidden" in fields or not img.attrs["os_hidden"])
        and ("status" in fields or img.attrs["status"] not in ("deleted", "killed"))
        and all(p(img) for p in predicates)
    ]
    rows.sort(key=functools.cmp_to_key(functools.partial(_order, keys)))
    return [img.id for img in rows]
