"""Filters, sorting and keyset pagination, compiled once for both APIs.

Both the REST marker and the GraphQL cursor decode to a :class:`Keyset`: the values of the
sort keys (plus the ``created_at``/``id`` tie-breakers) of the last row seen. The page query
is ``WHERE scope AND filters AND keyset ORDER BY keys LIMIT n+1``: cost depends on the page
size, not on how deep into the catalog the page is. Pages are never filtered after fetching.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from glimpse.core.errors import InvalidInput
from glimpse.models.scope import Frag

Op = Literal["eq", "neq", "in", "gt", "gte", "lt", "lte", "contains"]
Direction = Literal["asc", "desc"]

# Public field name -> kind; the column is ``images.<name>``. Kinds drive value parsing and
# allowed operators. Only names from this table are ever put into SQL text.
IMAGE_FIELDS: dict[str, str] = {
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
        raw = orjson.dumps([_dump(v) for v in self.values])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

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


def sort_expr(name: str) -> str:
    """The SQL a sort key orders by: NULLs as a sentinel that sorts first on every database."""
    col = f"images.{name}"
    if name not in _NULL_SENTINEL:
        return col
    sentinel = _NULL_SENTINEL[name]
    literal = f"'{sentinel}'" if isinstance(sentinel, str) else str(sentinel)
    return f"coalesce({col}, {literal})"


def keyset_of(row: Any, keys: Sequence[SortKey]) -> Keyset:
    """The keyset that resumes a listing after ``row`` (an image row)."""
    values = []
    for k in keys:
        v = getattr(row, k.field)
        values.append(_NULL_SENTINEL[k.field] if v is None and k.field in _NULL_SENTINEL else v)
    return Keyset(tuple(values))


def keyset_predicate(keys: Sequence[SortKey], ks: Keyset, reverse: bool) -> Frag:
    """Expanded-OR "after this row" predicate; a row comparison when directions agree."""
    if len(ks.values) != len(keys):
        raise InvalidInput("Cursor does not match the sort order")
    values = tuple(_keyset_value(k.field, v) for k, v in zip(keys, ks.values, strict=True))
    exprs = [sort_expr(k.field) for k in keys]
    dirs = [_flip(k.direction) if reverse else k.direction for k in keys]
    if len(set(dirs)) == 1:
        op = ">" if dirs[0] == "asc" else "<"
        marks = ", ".join("?" * len(values))
        return f"({', '.join(exprs)}) {op} ({marks})", values
    alternatives: list[str] = []
    params: list[Any] = []
    for i, (expr, d) in enumerate(zip(exprs, dirs, strict=True)):
        terms = [f"{exprs[j]} = ?" for j in range(i)]
        terms.append(f"{expr} {'>' if d == 'asc' else '<'} ?")
        alternatives.append("(" + " AND ".join(terms) + ")")
        params += [*values[:i], values[i]]
    return "(" + " OR ".join(alternatives) + ")", tuple(params)


def _keyset_value(name: str, value: Any) -> Any:
    """A cursor value of the type its column compares with (a cursor is client input)."""
    kind = IMAGE_FIELDS[name]
    if value is None:
        raise InvalidInput("Invalid cursor")
    if kind == "time" and not isinstance(value, datetime):
        raise InvalidInput("Invalid cursor")
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidInput("Invalid cursor")
    if kind == "str" and not isinstance(value, str):
        raise InvalidInput("Invalid cursor")
    return value


def _flip(d: Direction) -> Direction:
    return "asc" if d == "desc" else "desc"


def order_by(keys: Sequence[SortKey], reverse: bool) -> str:
    out = []
    for k in keys:
        d = _flip(k.direction) if reverse else k.direction
        out.append(f"{sort_expr(k.field)} {'ASC' if d == 'asc' else 'DESC'}")
    return ", ".join(out)


def compile_filter(f: Filter, *, drive: bool = False) -> Frag:
    """One filter as SQL. ``drive`` writes a tag or property filter as ``images.id IN
    (SELECT ...)``, which lets the planner start from the matching rows: right for a value
    few images have, wrong for a common one (then walking the sort index finds a page
    sooner); see glimpse.models.image_sql.selective_filters."""
    if isinstance(f, TagFilter):
        if drive:
            sub = "images.id IN (SELECT t.image_id FROM image_tags t WHERE t.value = ?)"
        else:
            sub = "EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = images.id AND t.value = ?)"
        return " AND ".join(sub for _ in f.tags) or "1 = 1", tuple(f.tags)
    if isinstance(f, PropertyFilter):
        return _property_filter(f, drive)
    return _field_filter(f)


def property_match(f: PropertyFilter) -> Frag:
    """The ``image_properties`` condition of a property filter (alias ``p``)."""
    if f.op == "eq":
        return "p.name = ? AND p.value = ?", (f.name, str(f.value))
    if f.op == "in":
        values = tuple(str(v) for v in f.value)
        if not values:
            return "1 = 0", ()
        return f"p.name = ? AND p.value IN ({', '.join('?' * len(values))})", (f.name, *values)
    pattern = "%" + _escape_like(str(f.value)) + "%"
    return "p.name = ? AND p.value LIKE ? ESCAPE '\\'", (f.name, pattern)


def _property_filter(f: PropertyFilter, drive: bool) -> Frag:
    cond, params = property_match(f)
    if drive:
        return f"images.id IN (SELECT p.image_id FROM image_properties p WHERE {cond})", params
    return (
        f"EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = images.id AND {cond})",
        params,
    )


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _field_filter(f: FieldFilter) -> Frag:
    if f.field not in IMAGE_FIELDS:
        raise InvalidInput(f"Unknown filter field: {f.field}")
    kind = IMAGE_FIELDS[f.field]
    col = f"images.{f.field}"
    if f.op in ORDERED_OPS and kind not in ("int", "time"):
        raise InvalidInput(f"Operator '{f.op}' is not supported for '{f.field}'")
    if f.op == "in":
        values = tuple(_typed(kind, f.field, v) for v in f.value)
        if not values:
            return "1 = 0", ()
        return f"{col} IN ({', '.join('?' * len(values))})", values
    if f.op == "contains":
        if kind != "str":
            raise InvalidInput(f"Substring match is not supported for '{f.field}'")
        return f"{col} LIKE ? ESCAPE '\\'", ("%" + _escape_like(str(f.value)) + "%",)
    value = _typed(kind, f.field, f.value)
    if f.op == "eq":
        return (f"{col} IS NULL", ()) if value is None else (f"{col} = ?", (value,))
    if f.op == "neq":
        if value is None:
            return f"{col} IS NOT NULL", ()
        return f"({col} != ? OR {col} IS NULL)", (value,)
    if f.op in ORDERED_OPS:
        if value is None:
            raise InvalidInput(f"Operator '{f.op}' needs a value for '{f.field}'")
        op = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[f.op]
        return f"{col} {op} ?", (value,)
    raise InvalidInput(f"Invalid operator: {f.op}")


INT64 = 2**63


def _typed(kind: str, name: str, value: Any) -> Any:
    if value is None:
        return None
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            number = int(value)
            if not -INT64 <= number < INT64:
                raise ValueError
            return number
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text not in ("true", "false"):
                raise ValueError
            return text == "true"
        if kind == "time":
            return _parse_time(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput(f"Invalid value for filter '{name}': {value!r}") from exc
    return str(value)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def page_sql(
    columns: str,
    scope: Frag,
    q: ListQuery,
    keys: Sequence[SortKey],
    drive: frozenset[int] = frozenset(),
) -> Frag:
    """SELECT of one page (``limit + 1`` rows, to know whether another page follows).
    ``drive``: indices of ``q.filters`` to write in their index-driving form."""
    conds = base_conditions(scope, q, drive)
    if q.after is not None:
        conds.append(keyset_predicate(keys, q.after, q.reverse))
    where, params = _and(conds)
    sql = f"SELECT {columns} FROM images WHERE {where} ORDER BY {order_by(keys, q.reverse)} LIMIT ?"
    return sql, (*params, q.limit + 1)


def count_sql(scope: Frag, q: ListQuery, drive: frozenset[int] = frozenset()) -> Frag:
    where, params = _and(base_conditions(scope, q, drive))
    return f"SELECT count(*) FROM images WHERE {where}", params


def _and(frags: Sequence[Frag]) -> Frag:
    return " AND ".join(f[0] for f in frags), tuple(p for f in frags for p in f[1])


def base_conditions(scope: Frag, q: ListQuery, drive: frozenset[int] = frozenset()) -> list[Frag]:
    filters = [compile_filter(f, drive=i in drive) for i, f in enumerate(q.filters)]
    conds = [scope, ("NOT images.deleted", ()), *filters]
    if not any(isinstance(f, FieldFilter) and f.field == "os_hidden" for f in q.filters):
        conds.append(("NOT images.os_hidden", ()))
    if not any(isinstance(f, FieldFilter) and f.field == "status" for f in q.filters):
        conds.append(("images.status NOT IN ('deleted', 'killed')", ()))
    return conds
