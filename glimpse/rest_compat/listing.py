"""``GET /v2/images`` query parameters (Glance §3) -> the neutral ListQuery.

Also accepts the product's original forms: ``property=key=value`` / ``property=key~value``
(custom property equals / contains) and ``metadata=field=value`` / ``metadata=field~value``
over base fields, each repeatable and ANDed with everything else.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from glimpse.core.errors import InvalidInput
from glimpse.models.query import (
    IMAGE_FIELDS,
    FieldFilter,
    Filter,
    ListQuery,
    PropertyFilter,
    SortKey,
    TagFilter,
)

EXACT_IN = ("name", "id", "status", "container_format", "disk_format")
SIMPLE_EQ = (
    "owner",
    "checksum",
    "os_hash_value",
    "min_ram",
    "min_disk",
    "virtual_size",
    "os_hash_algo",
)
CONTROL = (
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "sort",
    "visibility",
    "member_status",
    "tag",
    "size_min",
    "size_max",
    "os_hidden",
    "protected",
    "created_at",
    "updated_at",
    "property",
    "metadata",
)
TIME_OPS = ("gt", "gte", "lt", "lte", "eq", "neq")


def parse_list(
    params: QueryParams, page_default: int, page_max: int
) -> tuple[ListQuery, str | None]:
    """The ListQuery and the raw marker (resolved to a keyset by the resolver)."""
    if "changes-since" in params:
        raise InvalidInput("The 'changes-since' filter is no longer available on v2.")
    filters: list[Filter] = []
    for key in EXACT_IN:
        if key in params:
            filters.append(_in_or_eq(key, params[key]))
    for key in SIMPLE_EQ:
        if key in params:
            filters.append(FieldFilter(key, "eq", params[key]))
    filters += _ranges(params)
    filters += _flags(params)
    tags = params.getlist("tag")
    if tags:
        filters.append(TagFilter(tuple(tags)))
    filters += _original_forms(params)
    filters += _custom(params)
    visibility = params.get("visibility")
    if visibility is not None and visibility not in (
        "public",
        "private",
        "shared",
        "community",
        "all",
    ):
        raise InvalidInput(f"Invalid visibility value: {visibility}")
    member_status = params.get("member_status", "accepted")
    if member_status not in ("pending", "accepted", "rejected", "all"):
        raise InvalidInput(f"Invalid status value: {member_status}")
    return ListQuery(
        filters=tuple(filters),
        sort=parse_sort(params),
        limit=_limit(params.get("limit"), page_default, page_max),
        visibility=visibility,
        member_status=member_status,
    ), params.get("marker")


def _limit(raw: str | None, default: int, maximum: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidInput("limit param must be an integer") from exc
    if value < 0:
        raise InvalidInput("limit param must be positive")
    return min(value, maximum)


def _in_or_eq(key: str, raw: str) -> FieldFilter:
    op, sep, rest = raw.partition(":")
    if not sep:
        return FieldFilter(key, "eq", raw)
    if op == "in":
        values = next(csv.reader([rest], skipinitialspace=True), [])
        return FieldFilter(key, "in", tuple(values))
    if op == "eq":
        return FieldFilter(key, "eq", rest)
    raise InvalidInput(f"Unable to filter by unknown operator '{op}'.")


def _ranges(params: QueryParams) -> list[Filter]:
    out: list[Filter] = []
    for key, op in (("size_min", "gte"), ("size_max", "lte")):
        if key in params:
            try:
                out.append(FieldFilter("size", op, int(params[key])))  # type: ignore[arg-type]
            except ValueError as exc:
                raise InvalidInput(f"{key} must be an integer") from exc
    for key in ("created_at", "updated_at"):
        for raw in params.getlist(key):
            op, sep, value = raw.partition(":")
            if not sep or op not in TIME_OPS:
                op, value = "eq", raw
            out.append(FieldFilter(key, op, value))  # type: ignore[arg-type]
    return out


def _flags(params: QueryParams) -> list[Filter]:
    out: list[Filter] = []
    if "os_hidden" in params:
        raw = params["os_hidden"].lower()
        if raw not in ("true", "false"):
            raise InvalidInput("os_hidden must be true or false")
        out.append(FieldFilter("os_hidden", "eq", raw == "true"))
    if "protected" in params:
        raw = params["protected"]
        if raw not in ("true", "false"):
            raise InvalidInput("protected must be 'true' or 'false'")
        out.append(FieldFilter("protected", "eq", raw == "true"))
    return out


def _original_forms(params: QueryParams) -> list[Filter]:
    out: list[Filter] = []
    for raw in params.getlist("property"):
        name, op, value = _split_expr(raw, "property")
        out.append(PropertyFilter(name, "eq" if op == "=" else "contains", value))
    for raw in params.getlist("metadata"):
        name, op, value = _split_expr(raw, "metadata")
        if name not in IMAGE_FIELDS:
            raise InvalidInput(f"Unknown metadata field '{name}'")
        out.append(FieldFilter(name, "eq" if op == "=" else "contains", value))
    return out


def _split_expr(raw: str, what: str) -> tuple[str, str, str]:
    eq, tilde = raw.find("="), raw.find("~")
    positions = [p for p in (eq, tilde) if p > 0]
    if not positions:
        raise InvalidInput(f"{what} filter must look like key=value or key~value")
    pos = min(positions)
    return raw[:pos], raw[pos], raw[pos + 1 :]


def _custom(params: QueryParams) -> list[Filter]:
    out: list[Filter] = []
    for key in params:
        if key in CONTROL or key in EXACT_IN or key in SIMPLE_EQ:
            continue
        out.append(PropertyFilter(key, "eq", params[key]))
    return out


# Glance's sort keys; GraphQL offers more, the Glance wire format refuses the rest (400).
GLANCE_SORT_KEYS = (
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
)


def parse_sort(params: QueryParams) -> tuple[SortKey, ...]:
    keys = _rest_keys(*params.getlist("sort_key"))
    dirs, sort = params.getlist("sort_dir"), params.get("sort")
    if sort is not None:
        if keys or dirs:
            raise InvalidInput("The 'sort' parameter cannot be combined with sort_key/sort_dir")
        return tuple(_sort_item(item) for item in sort.split(",") if item.strip())
    for d in dirs:
        if d not in ("asc", "desc"):
            raise InvalidInput(f"Invalid sort direction: {d}")
    if not keys:
        return (SortKey("created_at", dirs[0]),) if dirs else ()  # type: ignore[arg-type]
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise InvalidInput("Number of sort dirs does not match the number of sort keys")
    directions = dirs if len(dirs) > 1 else [dirs[0] if dirs else "desc"] * len(keys)
    return tuple(SortKey(k, d) for k, d in zip(keys, directions, strict=True))  # type: ignore[arg-type]


def _rest_keys(*keys: str) -> list[str]:
    for key in keys:
        if key not in GLANCE_SORT_KEYS:
            raise InvalidInput(f"Invalid sort key: {key}")
    return list(keys)


def _sort_item(item: str) -> SortKey:
    key, _, direction = item.strip().partition(":")
    direction = direction.strip() or "desc"
    if direction not in ("asc", "desc"):
        raise InvalidInput(f"Invalid sort direction: {direction}")
    return SortKey(_rest_keys(key.strip())[0], direction)  # type: ignore[arg-type]


def page_links(path: str, params: QueryParams, next_marker: str | None) -> tuple[str, str | None]:
    """``first`` (query minus marker) and ``next`` (same query with the new marker), relative
    ``/v2/...`` as clients expect; repeated parameters are kept."""
    items = [(k, v) for k, v in params.multi_items() if k != "marker"]
    first = path + (f"?{urlencode(items)}" if items else "")
    if next_marker is None:
        return first, None
    return first, f"{path}?{urlencode([*items, ('marker', next_marker)])}"


def unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))
