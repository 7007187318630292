"""Filters, sorting and keyset pagination, compiled once for both APIs.

Both the REST marker and the GraphQL cursor decode to a :class:`Keyset`: the values of the
sort keys (plus the ``created_at``/``id`` tie-breakers) of the last row seen. The page query
is ``WHERE scope AND filters AND keyset ORDER BY keys LIMIT n+1``: cost depends on the page
size, not on how deep into the catalog the page is. Pages are never filtered after fetching.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select, tuple_
from sqlmodel import select as sm_select
from sqlmodel.sql.expression import SelectOfScalar

from glimpse.core.errors import InvalidInput
from glimpse.models.tables import Image, ImageProperty, ImageTag, table_of

I = table_of(Image).c  # noqa: E741
P = table_of(ImageProperty).c
T = table_of(ImageTag).c

Op = Literal["eq", "neq", "in", "gt", "gte", "lt", "lte", "contains"]
Direction = Literal["asc", "desc"]

# Public field name -> (column, kind). Kinds drive value parsing and allowed operators.
IMAGE_FIELDS: dict[str, tuple[Any, str]] = {
    "id": (I.id, "str"),
    "name": (I.name, "str"),
    "status": (I.status, "str"),
    "visibility": (I.visibility, "str"),
    "owner": (I.owner, "str"),
    "protected": (I.protected, "bool"),
    "os_hidden": (I.os_hidden, "bool"),
    "disk_format": (I.disk_format, "str"),
    "container_format": (I.container_format, "str"),
    "size": (I.size, "int"),
    "virtual_size": (I.virtual_size, "int"),
    "min_disk": (I.min_disk, "int"),
    "min_ram": (I.min_ram, "int"),
    "checksum": (I.checksum, "str"),
    "os_hash_algo": (I.os_hash_algo, "str"),
    "os_hash_value": (I.os_hash_value, "str"),
    "created_at": (I.created_at, "time"),
    "updated_at": (I.updated_at, "time"),
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
# NULL sorts as the smallest value on every database (SQLite and PostgreSQL disagree otherwise).
_NULL_SENTINEL = {
    "name": "",
    "size": -1,
    "virtual_size": -1,
    "disk_format": "",
    "container_format": "",
    "owner": "",
}
ORDERED_OPS = ("gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class FieldFilter:
    field: str
    op: Op
    value: Any


@dataclass(frozen=True)
class TagFilter:
    """All of ``tags`` must be present."""

    tags: tuple[str, ...]


@dataclass(frozen=True)
class PropertyFilter:
    """Custom property equality (``eq``/``in``) or substring (``contains``)."""

    name: str
    op: Literal["eq", "in", "contains"]
    value: Any


Filter = FieldFilter | TagFilter | PropertyFilter


@dataclass(frozen=True)
class SortKey:
    field: str
    direction: Direction = "desc"


@dataclass(frozen=True)
class Keyset:
    """Sort-key values of the last row of the previous page, tie-breakers included."""

    values: tuple[Any, ...]

    def encode(self) -> str:
        raw = json.dumps([_dump(v) for v in self.values], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> Keyset:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            items = json.loads(raw)
            if not isinstance(items, list):
                raise ValueError("not a list")
            return cls(tuple(_load(v) for v in items))
        except (ValueError, TypeError) as exc:
            raise InvalidInput("Invalid cursor") from exc


def _dump(v: Any) -> Any:
    return {"t": v.isoformat()} if isinstance(v, datetime) else v


def _load(v: Any) -> Any:
    return datetime.fromisoformat(v["t"]) if isinstance(v, dict) and "t" in v else v


@dataclass(frozen=True)
class ListQuery:
    """A neutral list request. ``reverse`` walks backwards (GraphQL ``last``/``before``)."""

    filters: tuple[Filter, ...] = ()
    sort: tuple[SortKey, ...] = ()
    after: Keyset | None = None
    limit: int = 25
    visibility: str | None = None
    member_status: str = "accepted"
    reverse: bool = False
    with_total: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def effective_sort(sort: Sequence[SortKey]) -> tuple[SortKey, ...]:
    """Validated keys plus ``created_at`` and ``id`` tie-breakers in the first key's direction."""
    for key in sort:
        if key.field not in SORTABLE:
            raise InvalidInput(f"Invalid sort key: {key.field}")
        if key.direction not in ("asc", "desc"):
            raise InvalidInput(f"Invalid sort direction: {key.direction}")
    keys = list(sort) or [SortKey("created_at", "desc")]
    names = {k.field for k in keys}
    first = keys[0].direction
    for tie in ("created_at", "id"):
        if tie not in names:
            keys.append(SortKey(tie, first))
    # 'id' is unique: keys after it can never break a tie.
    cut = next(i for i, k in enumerate(keys) if k.field == "id")
    return tuple(keys[: cut + 1])


def sort_expr(name: str) -> Any:
    col = IMAGE_FIELDS[name][0]
    return func.coalesce(col, _NULL_SENTINEL[name]) if name in _NULL_SENTINEL else col


def keyset_of(row: Any, keys: Sequence[SortKey]) -> Keyset:
    """The keyset that resumes a listing after ``row`` (an Image)."""
    values = []
    for k in keys:
        v = getattr(row, k.field)
        values.append(_NULL_SENTINEL[k.field] if v is None and k.field in _NULL_SENTINEL else v)
    return Keyset(tuple(values))


def keyset_predicate(keys: Sequence[SortKey], ks: Keyset, reverse: bool) -> ColumnElement[bool]:
    """Expanded-OR "after this row" predicate; a row comparison when directions agree."""
    if len(ks.values) != len(keys):
        raise InvalidInput("Cursor does not match the sort order")
    exprs = [sort_expr(k.field) for k in keys]
    dirs = [_flip(k.direction) if reverse else k.direction for k in keys]
    if len(set(dirs)) == 1:
        lhs, rhs = tuple_(*exprs), tuple_(*[literal(v) for v in ks.values])
        return lhs > rhs if dirs[0] == "asc" else lhs < rhs
    alternatives = []
    for i, (expr, d) in enumerate(zip(exprs, dirs, strict=True)):
        eqs = [exprs[j] == ks.values[j] for j in range(i)]
        step = expr > ks.values[i] if d == "asc" else expr < ks.values[i]
        alternatives.append(and_(*eqs, step))
    return or_(*alternatives)


def _flip(d: Direction) -> Direction:
    return "asc" if d == "desc" else "desc"


def order_by(keys: Sequence[SortKey], reverse: bool) -> list[Any]:
    out = []
    for k in keys:
        d = _flip(k.direction) if reverse else k.direction
        expr = sort_expr(k.field)
        out.append(expr.asc() if d == "asc" else expr.desc())
    return out


def compile_filter(f: Filter) -> ColumnElement[bool]:
    if isinstance(f, TagFilter):
        return and_(
            *[exists(select(T.image_id).where(T.image_id == I.id, T.value == t)) for t in f.tags]
        )
    if isinstance(f, PropertyFilter):
        return _property_filter(f)
    return _field_filter(f)


def _property_filter(f: PropertyFilter) -> ColumnElement[bool]:
    cond = P.name == f.name
    if f.op == "eq":
        cond = and_(cond, P.value == str(f.value))
    elif f.op == "in":
        cond = and_(cond, P.value.in_([str(v) for v in f.value]))
    else:
        pattern = "%" + _escape_like(str(f.value)) + "%"
        cond = and_(cond, P.value.like(pattern, escape="\\"))
    return exists(select(P.image_id).where(P.image_id == I.id, cond))


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _field_filter(f: FieldFilter) -> ColumnElement[bool]:
    if f.field not in IMAGE_FIELDS:
        raise InvalidInput(f"Unknown filter field: {f.field}")
    col: Any
    col, kind = IMAGE_FIELDS[f.field]
    if f.op in ORDERED_OPS and kind not in ("int", "time"):
        raise InvalidInput(f"Operator '{f.op}' is not supported for '{f.field}'")
    if f.op == "in":
        found: ColumnElement[bool] = col.in_([_typed(kind, f.field, v) for v in f.value])
        return found
    if f.op == "contains":
        if kind != "str":
            raise InvalidInput(f"Substring match is not supported for '{f.field}'")
        like: ColumnElement[bool] = col.like("%" + _escape_like(str(f.value)) + "%", escape="\\")
        return like
    value = _typed(kind, f.field, f.value)
    ops: dict[str, Callable[[], ColumnElement[bool]]] = {
        "eq": lambda: col.is_(None) if value is None else col == value,
        "neq": lambda: col.is_not(None) if value is None else or_(col != value, col.is_(None)),
        "gt": lambda: col > value,
        "gte": lambda: col >= value,
        "lt": lambda: col < value,
        "lte": lambda: col <= value,
    }
    if f.op not in ops:
        raise InvalidInput(f"Invalid operator: {f.op}")
    result: ColumnElement[bool] = ops[f.op]()
    return result


def _typed(kind: str, name: str, value: Any) -> Any:
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
            return _parse_time(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"Invalid value for filter '{name}': {value!r}") from exc
    return str(value)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if dt.tzinfo is not None:
        from datetime import UTC

        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def page_statement(
    scope: ColumnElement[bool], q: ListQuery, keys: Sequence[SortKey]
) -> SelectOfScalar[Image]:
    """SELECT of one page (``limit + 1`` rows, to know whether another page follows)."""
    stmt = sm_select(Image).where(*base_conditions(scope, q))
    if q.after is not None:
        stmt = stmt.where(keyset_predicate(keys, q.after, q.reverse))
    return stmt.order_by(*order_by(keys, q.reverse)).limit(q.limit + 1)


def count_statement(scope: ColumnElement[bool], q: ListQuery) -> Select[Any]:
    return select(func.count()).select_from(Image).where(*base_conditions(scope, q))


def base_conditions(scope: ColumnElement[bool], q: ListQuery) -> list[ColumnElement[bool]]:
    conds = [scope, I.deleted.is_(False), *[compile_filter(f) for f in q.filters]]
    if not any(isinstance(f, FieldFilter) and f.field == "os_hidden" for f in q.filters):
        conds.append(I.os_hidden.is_(False))
    if not any(isinstance(f, FieldFilter) and f.field == "status" for f in q.filters):
        conds.append(I.status.not_in(("deleted", "killed")))
    return conds
