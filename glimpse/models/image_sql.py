"""The image catalog's SQL for the direct-driver hot paths (see glimpse/core/sql.py).

One query answers a read: the image row plus, as correlated sub-selects, its custom
properties, tags, stores and the caller's member status. Listing runs the page query of
glimpse.models.query inside the same shape. Writes are a handful of statements in one
transaction. Each dialect difference (JSON or array aggregates, a data-modifying CTE on
PostgreSQL) lives here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import orjson

from glimpse.core.sql import Conn, Row, as_time
from glimpse.models.query import (
    ListQuery,
    PropertyFilter,
    SortKey,
    TagFilter,
    order_by,
    page_sql,
    property_match,
)
from glimpse.models.scope import Frag


@dataclass(slots=True)
class ImageRow:
    """One row of ``images``: what every layer reads about an image (not an ORM object)."""

    id: str
    name: str | None
    status: str
    visibility: str
    protected: bool
    os_hidden: bool
    owner: str | None
    min_disk: int
    min_ram: int
    disk_format: str | None
    container_format: str | None
    size: int | None
    virtual_size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    created_at: datetime
    updated_at: datetime
    deleted: bool = False
    deleted_at: datetime | None = None
    lock_owner: str | None = None
    lock_expires_at: datetime | None = None

    @classmethod
    def of(cls, obj: Any) -> ImageRow:
        """A copy of any object with the image attributes (an ORM ``Image``)."""
        return cls(**{name: getattr(obj, name) for name in COLUMNS})


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ImageRow))
SELECT_COLUMNS = ", ".join(f"images.{c}" for c in COLUMNS)
_N = len(COLUMNS)
_BOOL_AT = tuple(i for i, c in enumerate(COLUMNS) if c in ("protected", "os_hidden", "deleted"))
_TIME_AT = tuple(
    i
    for i, c in enumerate(COLUMNS)
    if c in ("created_at", "updated_at", "deleted_at", "lock_expires_at")
)


def _decode_sqlite(row: Row) -> ImageRow:
    """SQLite gives booleans as 0/1 and times as text."""
    v = list(row[:_N])
    for i in _BOOL_AT:
        v[i] = bool(v[i])
    for i in _TIME_AT:
        if v[i] is not None:
            v[i] = as_time(v[i])
    return ImageRow(*v)


def _decode_pg(row: Row) -> ImageRow:
    return ImageRow(*row[:_N])


def decode(dialect: str, row: Row) -> ImageRow:
    """The :class:`ImageRow` at the start of a result row."""
    return _decode_sqlite(row) if dialect == "sqlite" else _decode_pg(row)


# ---------------------------------------------------------------------------- relations


@dataclass(frozen=True, slots=True)
class Relations:
    """Custom properties, tags (sorted), stores (by first location) and the caller's member
    status of one image."""

    properties: dict[str, str]
    tags: list[str]
    stores: list[str]
    member_status: str | None


# Correlated sub-selects appended to an image query, in this order: properties, tags,
# stores, member status (the caller's project is the one parameter they take).
_RELATIONS = {
    "sqlite": (
        "(SELECT json_group_object(p.name, p.value) FROM image_properties p "
        "WHERE p.image_id = images.id), "
        "(SELECT json_group_array(value) FROM (SELECT t.value FROM image_tags t "
        "WHERE t.image_id = images.id ORDER BY t.value)), "
        "(SELECT json_group_array(store) FROM (SELECT l.store FROM image_locations l "
        "WHERE l.image_id = images.id AND l.status = 'active' ORDER BY l.id)), "
        "(SELECT m.status FROM image_members m WHERE m.image_id = images.id AND m.member = ?)"
    ),
    "postgresql": (
        "(SELECT array_agg(p.name) FROM image_properties p WHERE p.image_id = images.id), "
        "(SELECT array_agg(p.value) FROM image_properties p WHERE p.image_id = images.id), "
        "(SELECT array_agg(t.value ORDER BY t.value) FROM image_tags t "
        "WHERE t.image_id = images.id), "
        "(SELECT array_agg(l.store ORDER BY l.id) FROM image_locations l "
        "WHERE l.image_id = images.id AND l.status = 'active'), "
        "(SELECT m.status FROM image_members m WHERE m.image_id = images.id AND m.member = ?)"
    ),
}


def relation_columns(dialect: str) -> str:
    return _RELATIONS[dialect]


def _unique(stores: Sequence[str] | None) -> list[str]:
    return list(dict.fromkeys(stores)) if stores else []


def decode_relations(dialect: str, row: Row, hidden: frozenset[str]) -> Relations:
    """The :class:`Relations` after the image columns of a row."""
    if dialect == "sqlite":
        props_json, tags_json, stores_json, member = row[_N : _N + 4]
        props: dict[str, str] = orjson.loads(props_json) if props_json else {}
        tags: list[str] = orjson.loads(tags_json) if tags_json else []
        stores = _unique(orjson.loads(stores_json) if stores_json else None)
    else:
        names, values, tag_list, store_list, member = row[_N : _N + 5]
        props = dict(zip(names, values, strict=True)) if names else {}
        tags = list(tag_list) if tag_list else []
        stores = _unique(store_list)
    if hidden and props:
        props = {k: v for k, v in props.items() if k not in hidden}
    return Relations(props, tags, stores, member)


# ---------------------------------------------------------------------------- reads


async def fetch_with_relations(
    conn: Conn, where: Frag, project: str | None, *, for_update: bool = False
) -> list[Row]:
    """Image rows matching ``where``, each followed by its relations (see :func:`decode`)."""
    sql = f"SELECT {SELECT_COLUMNS}, {relation_columns(conn.dialect)} FROM images WHERE {where[0]}"
    if for_update and conn.dialect == "postgresql":
        sql += " FOR UPDATE OF images"
    return await conn.fetch(sql, (project, *where[1]))


async def fetch_page(
    conn: Conn,
    page: Frag,
    order: str,
    project: str | None,
    *,
    relations: bool,
    steps: int | None = None,
) -> list[Row] | None:
    """The rows of a page query (``glimpse.models.query.page_sql`` over
    :data:`SELECT_COLUMNS`), with relations when asked, in the page's ``order``; ``None`` when
    ``steps`` is given and the query needs more work than that (see ``Conn.fetch_bounded``).

    The relations are sub-selects of an outer query over the page, so they run for the
    page's rows only, after its LIMIT; the outer ORDER BY keeps the page's order (26 rows).
    """
    sql, params = page
    if relations:
        sql = (
            f"SELECT images.*, {relation_columns(conn.dialect)} FROM ({sql}) AS images "
            f"ORDER BY {order}"
        )
        params = (project, *params)
    if steps is not None:
        return await conn.fetch_bounded(sql, params, steps)
    return await conn.fetch(sql, params)


# How many matching rows make a tag or property value "common" (see page_rows).
SELECTIVE_BELOW = 1000
# How much work (SQLite virtual-machine steps; ~7,000 per millisecond here) a walk of the
# sort index may take before the page is read the other way. A page of a common value takes
# a few thousand.
WALK_STEPS = 20_000


async def _drivable(conn: Conn, filters: Sequence[Any]) -> tuple[set[int], set[int]]:
    """Indices of the tag and property filters whose value few rows have, and of those
    whose value many rows have (a bounded count of index entries each)."""
    rare: set[int] = set()
    common: set[int] = set()
    for i, f in enumerate(filters):
        if isinstance(f, PropertyFilter) and f.op in ("eq", "in"):
            cond, params = property_match(f)
            sub = f"SELECT 1 FROM image_properties p WHERE {cond} LIMIT ?"
        elif isinstance(f, TagFilter) and f.tags:
            sub, params = "SELECT 1 FROM image_tags t WHERE t.value = ? LIMIT ?", (f.tags[0],)
        else:
            continue
        count = await conn.fetchval(f"SELECT count(*) FROM ({sub})", (*params, SELECTIVE_BELOW))
        (rare if int(count) < SELECTIVE_BELOW else common).add(i)
    return rare, common


async def page_rows(
    conn: Conn,
    query: ListQuery,
    keys: Sequence[SortKey],
    scope: Frag,
    project: str | None,
    *,
    relations: bool,
) -> tuple[list[Row], frozenset[int]]:
    """The rows of one page, and the filters written in their index-driving form (for a
    count of the same query).

    PostgreSQL plans with per-value statistics. SQLite keeps one average per index prefix,
    so it cannot tell a property value every fifth image has from one a single image has,
    and the best plan differs: walk the sort index for the first, start from the few
    matching rows for the second. A bounded count of index entries tells them apart; and
    because a common value can still be absent from the part of the catalog a walk reads
    first, a walk that takes more than :data:`WALK_STEPS` is stopped and the page read from
    the matching rows instead. Either way a page costs milliseconds, never a full scan.
    """
    order = order_by(keys, query.reverse)
    drive: frozenset[int] = frozenset()
    if conn.dialect == "sqlite":
        rare, common = await _drivable(conn, query.filters)
        drive = frozenset(rare)
        if common:
            page = page_sql(SELECT_COLUMNS, scope, query, keys, drive)
            rows = await fetch_page(
                conn, page, order, project, relations=relations, steps=WALK_STEPS
            )
            if rows is not None:
                return rows, drive
            drive = drive | common  # too few matches early in the walk: start from them
    page = page_sql(SELECT_COLUMNS, scope, query, keys, drive)
    rows = await fetch_page(conn, page, order, project, relations=relations)
    assert rows is not None
    return rows, drive


# ---------------------------------------------------------------------------- writes


def _insert(table: str, names: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


INSERT_IMAGE = _insert("images", COLUMNS)
INSERT_PROPERTY = _insert("image_properties", ("image_id", "name", "value"))
INSERT_TAG = _insert("image_tags", ("image_id", "value"))
INSERT_EVENT = _insert(
    "image_events",
    ("image_id", "at", "action", "user_id", "project_id", "request_id", "changes"),
)


def image_values(image: ImageRow) -> tuple[Any, ...]:
    return tuple(getattr(image, c) for c in COLUMNS)


async def insert_image(
    conn: Conn, image: ImageRow, props: Mapping[str, str], tags: Sequence[str]
) -> None:
    """Insert an image with its properties and tags (the caller's transaction)."""
    await conn.execute(INSERT_IMAGE, image_values(image))
    if props:
        await conn.executemany(INSERT_PROPERTY, [(image.id, k, v) for k, v in props.items()])
    if tags:
        await conn.executemany(INSERT_TAG, [(image.id, t) for t in tags])


async def update_columns(conn: Conn, image_id: str, values: Mapping[str, Any]) -> None:
    """``UPDATE images SET ...`` for the given columns (names from :data:`COLUMNS` only)."""
    names = [n for n in values if n in COLUMNS and n != "id"]
    if len(names) != len(values):
        raise ValueError(f"not image columns: {sorted(set(values) - set(names))}")
    sets = ", ".join(f"{n} = ?" for n in names)
    await conn.execute(
        f"UPDATE images SET {sets} WHERE id = ?", (*(values[n] for n in names), image_id)
    )


async def replace_properties(
    conn: Conn, image_id: str, before: Mapping[str, str], after: Mapping[str, str]
) -> None:
    """Write the difference between two property maps (hidden properties untouched)."""
    gone = [k for k in before if k not in after]
    changed = [(k, v) for k, v in after.items() if before.get(k) != v]
    if gone:
        marks = ", ".join("?" * len(gone))
        await conn.execute(
            f"DELETE FROM image_properties WHERE image_id = ? AND name IN ({marks})",
            (image_id, *gone),
        )
    if changed:
        updated = [(k, v) for k, v in changed if k in before]
        added = [(k, v) for k, v in changed if k not in before]
        if updated:
            await conn.executemany(
                "UPDATE image_properties SET value = ? WHERE image_id = ? AND name = ?",
                [(v, image_id, k) for k, v in updated],
            )
        if added:
            await conn.executemany(INSERT_PROPERTY, [(image_id, k, v) for k, v in added])


async def replace_tags(
    conn: Conn, image_id: str, before: Sequence[str], after: Sequence[str]
) -> None:
    gone = [t for t in before if t not in set(after)]
    added = [t for t in after if t not in set(before)]
    if gone:
        marks = ", ".join("?" * len(gone))
        await conn.execute(
            f"DELETE FROM image_tags WHERE image_id = ? AND value IN ({marks})", (image_id, *gone)
        )
    if added:
        await conn.executemany(INSERT_TAG, [(image_id, t) for t in added])


@dataclass(frozen=True, slots=True)
class EventRow:
    """An operation-log entry to insert (see glimpse.resolvers.events)."""

    image_id: str
    at: datetime
    action: str
    user_id: str | None
    project_id: str | None
    request_id: str | None
    changes: Mapping[str, Any]

    def values(self) -> tuple[Any, ...]:
        payload = orjson.dumps(self.changes, default=str).decode()
        return (
            self.image_id,
            self.at,
            self.action,
            self.user_id,
            self.project_id,
            self.request_id,
            payload,
        )


async def insert_event(conn: Conn, event: EventRow) -> None:
    await conn.execute(INSERT_EVENT, event.values())


# PostgreSQL: the new image, its properties and tags and its create event in one statement
# (one round trip, atomic without BEGIN/COMMIT). The relation rows reference the image
# through a foreign key checked at the end of the statement, when the image row exists.
_PG_CREATE = (
    f"WITH new_image AS ({INSERT_IMAGE}), "
    "new_properties AS (INSERT INTO image_properties (image_id, name, value) "
    "SELECT ?, n, v FROM unnest(?::text[], ?::text[]) AS given(n, v)), "
    "new_tags AS (INSERT INTO image_tags (image_id, value) SELECT ?, unnest(?::text[])), "
    f"new_event AS ({INSERT_EVENT}) "
    "SELECT 1"
)


async def create(
    conn: Conn,
    image: ImageRow,
    props: Mapping[str, str],
    tags: Sequence[str],
    event: EventRow,
) -> None:
    """Insert a new image with its properties, tags and create event; on PostgreSQL as one
    statement (see ``writer(one_statement=True)`` in glimpse.core.db)."""
    if conn.dialect == "postgresql":
        params = (
            *image_values(image),
            image.id,
            list(props),
            list(props.values()),
            image.id,
            list(tags),
            *event.values(),
        )
        await conn.execute(_PG_CREATE, params)
        return
    await insert_image(conn, image, props, tags)
    await insert_event(conn, event)
