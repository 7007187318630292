"""The list compiler, table-driven, on SQLite and PostgreSQL.

Every case lists through the resolver and compares with the same filter/sort computed in
Python over the fixture images; paging through with keysets must give exactly the full list.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from glimpse.core.errors import InvalidInput
from glimpse.models import image_sql
from glimpse.models import query as q
from glimpse.models.tables import Image
from glimpse.resolvers import images
from glimpse.resolvers.images import ImageCreate
from tests.conftest import Personas

T0 = datetime(2030, 1, 1, 12, 0, 0)

FIXTURES: list[dict[str, Any]] = [
    {"name": "alpha", "disk_format": "raw", "size": 10, "tags": ["a", "b"], "os": "linux"},
    {"name": "beta", "disk_format": "qcow2", "size": 5000000000, "tags": ["a"], "os": "windows"},
    {"name": None, "disk_format": None, "size": None, "tags": [], "os": "linux-ubuntu"},
    {"name": "gamma", "disk_format": "qcow2", "size": 10, "tags": ["b"], "os": "bsd"},
    {"name": "alpha", "disk_format": "iso", "size": 700, "tags": ["a", "b", "c"], "os": "linux"},
    {"name": "delta", "disk_format": "raw", "size": 3, "tags": ["c"], "protected": True},
    {"name": "hidden", "disk_format": "raw", "size": 1, "tags": [], "os_hidden": True},
]


async def seed(deps: Any, who: Any) -> list[Image]:
    rows = []
    for n, spec in enumerate(FIXTURES):
        values = {k: v for k, v in spec.items() if k not in ("size", "os") and v is not None}
        if "os" in spec:
            values["os_distro"] = spec["os"]
        rec = await images.create(deps, who, ImageCreate(values))
        created = T0 + timedelta(seconds=n // 2, microseconds=n)  # pairs share a second
        async with deps.db.begin() as s:
            await s.exec(
                update(Image)
                .where(Image.id == rec.image.id)  # type: ignore[arg-type]
                .values(size=spec["size"], created_at=created, updated_at=created)
            )
        rows.append(rec.image)
        rec.image.size, rec.image.created_at = spec["size"], created
    return rows


Case = tuple[str, tuple[q.Filter, ...], Callable[[dict[str, Any]], bool]]
CASES: list[Case] = [
    ("all", (), lambda f: not f.get("os_hidden")),
    ("name eq", (q.FieldFilter("name", "eq", "alpha"),), lambda f: f["name"] == "alpha"),
    (
        "name in",
        (q.FieldFilter("name", "in", ("beta", "gamma")),),
        lambda f: f["name"] in ("beta", "gamma"),
    ),
    (
        "name neq",
        (q.FieldFilter("name", "neq", "alpha"),),
        lambda f: f["name"] != "alpha" and not f.get("os_hidden"),
    ),
    (
        "size gte",
        (q.FieldFilter("size", "gte", 10),),
        lambda f: (f["size"] or -1) >= 10 and not f.get("os_hidden"),
    ),
    (
        "size range",
        (q.FieldFilter("size", "gt", 3), q.FieldFilter("size", "lte", 700)),
        lambda f: f["size"] is not None and 3 < f["size"] <= 700,
    ),
    ("tags all-of", (q.TagFilter(("a", "b")),), lambda f: {"a", "b"} <= set(f["tags"])),
    ("prop eq", (q.PropertyFilter("os_distro", "eq", "linux"),), lambda f: f.get("os") == "linux"),
    (
        "prop contains",
        (q.PropertyFilter("os_distro", "contains", "linux"),),
        lambda f: "linux" in (f.get("os") or ""),
    ),
    ("prop contains literal %", (q.PropertyFilter("os_distro", "contains", "%"),), lambda f: False),
    ("protected", (q.FieldFilter("protected", "eq", True),), lambda f: bool(f.get("protected"))),
    ("hidden only", (q.FieldFilter("os_hidden", "eq", True),), lambda f: bool(f.get("os_hidden"))),
    (
        "disk_format",
        (q.FieldFilter("disk_format", "eq", "qcow2"),),
        lambda f: f["disk_format"] == "qcow2",
    ),
    (
        "created_at gt",
        (q.FieldFilter("created_at", "gte", T0 + timedelta(seconds=2)),),
        lambda f: FIXTURES.index(f) >= 4 and not f.get("os_hidden"),
    ),
    ("name contains", (q.FieldFilter("name", "contains", "lph"),), lambda f: f["name"] == "alpha"),
]


@pytest.mark.parametrize("plan", ["drive", "walk"])
@pytest.mark.parametrize(("label", "filters", "expect"), CASES, ids=[c[0] for c in CASES])
async def test_filters(
    deps: Any,
    personas: Personas,
    label: str,
    filters: tuple[q.Filter, ...],
    expect: Callable[[dict[str, Any]], bool],
    plan: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both SQL forms of tag and property filters (on SQLite the form follows how common the
    value is; a threshold of 0 makes every value "common")."""
    if plan == "walk":
        monkeypatch.setattr(image_sql, "SELECTIVE_BELOW", 0)
    rows = await seed(deps, personas.p1_member)
    page = await images.list_images(
        deps, personas.p1_member, q.ListQuery(filters=filters, limit=100)
    )
    got = {r.image.id for r in page.items}
    want = {row.id for row, spec in zip(rows, FIXTURES, strict=True) if expect(spec)}
    assert got == want, label


SORTS = [
    (),
    (q.SortKey("name", "asc"),),
    (q.SortKey("name", "desc"),),
    (q.SortKey("size", "asc"), q.SortKey("name", "desc")),
    (q.SortKey("disk_format", "desc"), q.SortKey("size", "asc")),
    (q.SortKey("created_at", "asc"),),
]


def _key(row: Image, sort: tuple[q.SortKey, ...]) -> list[Any]:
    keys = q.effective_sort(sort)
    out: list[Any] = []
    for k in keys:
        v = getattr(row, k.field)
        if v is None:
            v = q._NULL_SENTINEL[k.field]
        out.append((v, k.direction))
    return out


@pytest.mark.parametrize(
    "sort", SORTS, ids=lambda s: ",".join(f"{k.field}:{k.direction}" for k in s) or "default"
)
@pytest.mark.parametrize("page_size", [1, 2, 3])
async def test_keyset_pages_walk_the_whole_sorted_list(
    deps: Any, personas: Personas, sort: tuple[q.SortKey, ...], page_size: int
) -> None:
    await seed(deps, personas.p1_member)
    full = await images.list_images(deps, personas.p1_member, q.ListQuery(sort=sort, limit=100))
    _assert_sorted([r.image for r in full.items], sort)
    seen: list[str] = []
    after = None
    while True:
        page = await images.list_images(
            deps, personas.p1_member, q.ListQuery(sort=sort, limit=page_size, after=after)
        )
        seen += [r.image.id for r in page.items]
        if not page.has_next:
            break
        after = page.cursor(page.items[-1])
    assert seen == [r.image.id for r in full.items]
    # Backwards from the end gives the same order.
    back: list[str] = []
    before = None
    while True:
        page = await images.list_images(
            deps,
            personas.p1_member,
            q.ListQuery(sort=sort, limit=page_size, after=before, reverse=True),
        )
        back = [r.image.id for r in page.items] + back
        if not page.has_next:
            break
        before = page.cursor(page.items[0])
    assert back == seen


def _assert_sorted(rows: list[Image], sort: tuple[q.SortKey, ...]) -> None:
    keys = q.effective_sort(sort)
    for a, b in itertools.pairwise(rows):
        for k in keys:
            va, vb = getattr(a, k.field), getattr(b, k.field)
            va = q._NULL_SENTINEL.get(k.field, va) if va is None else va
            vb = q._NULL_SENTINEL.get(k.field, vb) if vb is None else vb
            if va == vb:
                continue
            assert (va < vb) if k.direction == "asc" else (va > vb), (k, va, vb)
            break


async def test_total_count_only_when_asked(deps: Any, personas: Personas) -> None:
    await seed(deps, personas.p1_member)
    page = await images.list_images(deps, personas.p1_member, q.ListQuery(limit=2))
    assert page.total is None
    assert page.has_next
    page = await images.list_images(deps, personas.p1_member, q.ListQuery(limit=2, with_total=True))
    assert page.total == 6


@pytest.mark.parametrize(
    "bad",
    [
        q.ListQuery(sort=(q.SortKey("bogus", "asc"),)),
        q.ListQuery(filters=(q.FieldFilter("bogus", "eq", "x"),)),
        q.ListQuery(filters=(q.FieldFilter("size", "gt", "big"),)),
        q.ListQuery(filters=(q.FieldFilter("name", "gt", "a"),)),
        q.ListQuery(after=q.Keyset(("only-one",))),
        q.ListQuery(member_status="maybe"),
    ],
)
async def test_invalid_queries_are_clear_errors(
    deps: Any, personas: Personas, bad: q.ListQuery
) -> None:
    with pytest.raises(InvalidInput):
        await images.list_images(deps, personas.p1_member, bad)


def test_cursor_round_trip_and_garbage() -> None:
    ks = q.Keyset((T0, "x", 5, None))
    assert q.Keyset.decode(ks.encode()) == ks
    with pytest.raises(InvalidInput):
        q.Keyset.decode("!!!not-base64")


async def test_sqlite_default_listing_walks_the_created_index(sqlite_url: str) -> None:
    """With statistics, a page is read in (created_at, id) order and no sort of every
    visible row happens: page cost must not grow with the catalog."""
    from sqlalchemy import insert

    from glimpse.core.context import Principal
    from glimpse.core.db import Database
    from glimpse.models.scope import list_scope

    db = Database(sqlite_url)
    rows = [
        {
            "id": f"00000000-0000-4000-8000-{n:012d}",
            "name": f"i{n}",
            "status": "active",
            "visibility": ("public", "private", "shared")[n % 3],
            "protected": False,
            "os_hidden": False,
            "owner": f"P{n % 7}",
            "min_disk": 0,
            "min_ram": 0,
            "created_at": T0 + timedelta(seconds=n),
            "updated_at": T0,
            "deleted": False,
        }
        for n in range(3000)
    ]
    async with db.engine.begin() as conn:
        await conn.execute(insert(Image), rows)
    assert await db.refresh_statistics()
    assert not await db.refresh_statistics()  # unchanged catalog: no new ANALYZE
    p = Principal("u", "P1", frozenset({"member", "reader"}))
    sql, params = q.page_sql(
        "images.id", list_scope(p, None, "accepted"), q.ListQuery(limit=25), q.effective_sort(())
    )
    async with db.reader() as conn:
        plan = " | ".join(str(r[-1]) for r in await conn.fetch(f"EXPLAIN QUERY PLAN {sql}", params))
    await db.dispose()
    assert "ix_images_created_id" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


async def test_sqlite_walk_that_finds_too_little_starts_from_the_matches(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A common property value absent from the newest images: walking the sort index would
    read all of them before the first match, so the walk is stopped after a budget and the
    page read from the matching rows; the page is the same either way."""
    from sqlalchemy import insert

    from glimpse.core.context import Principal
    from glimpse.core.db import Database
    from glimpse.models.scope import list_scope
    from glimpse.models.tables import ImageProperty

    db = Database(sqlite_url)
    monkeypatch.setattr(image_sql, "SELECTIVE_BELOW", 50)  # 60 matches: "common"
    rows = [
        {
            "id": f"00000000-0000-4000-8000-{n:012d}",
            "name": f"i{n}",
            "status": "active",
            "visibility": "public",
            "protected": False,
            "os_hidden": False,
            "owner": "P2",
            "min_disk": 0,
            "min_ram": 0,
            "created_at": T0 + timedelta(seconds=n),
            "updated_at": T0,
            "deleted": False,
        }
        for n in range(3000)
    ]
    props = [{"image_id": r["id"], "name": "os_distro", "value": "rare"} for r in rows[:60]]
    async with db.engine.begin() as conn:
        await conn.execute(insert(Image), rows)
        await conn.execute(insert(ImageProperty), props)
    p = Principal("u", "P1", frozenset({"member", "reader"}))
    query = q.ListQuery(filters=(q.PropertyFilter("os_distro", "eq", "rare"),), limit=25)
    keys = q.effective_sort(())
    pages = []
    for steps in (10**9, 2_000):  # enough to walk everything; too little
        monkeypatch.setattr(image_sql, "WALK_STEPS", steps)
        statements: list[str] = []
        db.observers.append(statements.append)
        async with db.reader() as conn:
            found, _ = await image_sql.page_rows(
                conn, query, keys, list_scope(p, None, sqlite=True), "P1", relations=False
            )
        db.observers.remove(statements.append)
        pages.append(([r[0] for r in found], len(statements)))
    await db.dispose()
    (walked, walk_statements), (fallback, fallback_statements) = pages
    assert walked == fallback == [r["id"] for r in reversed(rows[35:60])] + [rows[34]["id"]]
    assert walk_statements == 2  # the count, the walk
    assert fallback_statements == 3  # the count, the stopped walk, the page from the matches
