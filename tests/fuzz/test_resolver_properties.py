"""Property-based tests of the operation layer (glimpse.resolvers.images), on SQLite and
PostgreSQL: arbitrary creates, updates, deletes and listings.

A hypothesis state machine drives the public resolver API (``images.create``,
``images.update``, ``images.delete``, ``images.list_images`` with a ``ListQuery``) for one
fresh project per run, and checks every listing against a Python model of filtering and
sorting (tests/fuzz/model.py): same ids, same order, the same pages when walked with
cursors; and any refusal must be ``InvalidInput`` exactly where the model refuses. Writes
may only fail with the errors their contract names (InvalidInput; Forbidden and Conflict
for updates and deletes), and a failed write changes nothing.

Text written through create and update includes NUL and lone surrogates (refused by
glimpse.resolvers.text, as InvalidInput); filters and sorts get them too, with integers
past any column's range, fractions, garbage operators and fields.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from glimpse.core.context import Principal, RequestContext
from glimpse.core.errors import Conflict, Forbidden, GlimpseError, InvalidInput
from glimpse.models.query import FieldFilter, ListQuery, PropertyFilter, SortKey, TagFilter
from glimpse.resolvers import images
from tests.conftest import _empty_pg, _migrate, make_settings
from tests.fuzz.conftest import fuzz_settings
from tests.fuzz.model import KINDS, SORTABLE, Refused, Stored, expected

pytestmark = pytest.mark.fuzz

# Text with the characters that break naive SQL and LIKE handling, mixed case, non-ASCII.
SAFE_CHARS = st.sampled_from(list("aAbBzZ09 %_\\'\"-.:/é߀İıﬁ😀\u0301\t"))
SAFE_TEXT = st.text(SAFE_CHARS, max_size=8)
HOSTILE_TEXT = st.one_of(
    SAFE_TEXT,
    st.builds(lambda a, b: a + "\x00" + b, SAFE_TEXT, SAFE_TEXT),
    st.builds(lambda a: a + "\ud800", SAFE_TEXT),
    st.text(max_size=6),
)
WRITTEN_TEXT = st.one_of(SAFE_TEXT, SAFE_TEXT, SAFE_TEXT, SAFE_TEXT, HOSTILE_TEXT)
HUGE_INTS = st.sampled_from([2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 2**64, 10**30])
ANY_INT = st.one_of(st.integers(-5, 5), st.integers(0, 2**31 - 1), HUGE_INTS)
FORMATS = st.sampled_from(["raw", "qcow2", "iso", "vmdk", None, "nope"])
CONTAINERS = st.sampled_from(["bare", "ovf", None, "nope"])


def _near(known: list[Any]) -> st.SearchStrategy[Any]:
    """Values taken from the images themselves, as is or bent (case, substrings), so that
    filters select something and case or escaping rules are actually exercised."""
    texts = [k for k in known if isinstance(k, str)]
    base: st.SearchStrategy[Any] = st.sampled_from(known) if known else st.nothing()
    if not texts:
        return base
    text = st.sampled_from(texts)
    return st.one_of(
        base,
        text.map(str.swapcase),
        st.builds(
            lambda t, i, j: t[min(i, j) : max(i, j)], text, st.integers(0, 8), st.integers(0, 8)
        ),
    )


def _value_for(kind: str, known: list[Any]) -> st.SearchStrategy[Any]:
    """Filter values: mostly of the field's kind or near the stored ones, sometimes anything."""
    typed = {
        "str": SAFE_TEXT,
        "int": st.one_of(ANY_INT, ANY_INT.map(str), st.sampled_from([1.0, 2.5, float("nan")])),
        "bool": st.sampled_from([True, False, "true", "FALSE", "yes"]),
        "time": st.sampled_from(
            ["2020-01-01", "2999-12-31T23:59:59Z", "2024-05-01T10:00:00+02:00", "garbage"]
        ),
    }[kind]
    odd = st.one_of(st.none(), HOSTILE_TEXT, HUGE_INTS)
    near = _near(known) if known else typed
    return st.one_of(*[near] * 6, *[typed] * 3, odd)


def field_filters(model: dict[str, Stored]) -> st.SearchStrategy[FieldFilter]:
    @st.composite
    def build(draw: st.DrawFn) -> FieldFilter:
        common = ["name", "name", "min_disk", "disk_format", "created_at", "protected"]
        name = draw(
            st.one_of(st.sampled_from(common), st.sampled_from(sorted(KINDS)), HOSTILE_TEXT)
        )
        kind = KINDS.get(name, "str")
        known = [s.attrs[name] for s in model.values() if s.attrs.get(name) is not None]
        ops = ["eq", "neq", "in", "gt", "gte", "lt", "lte", "contains", "like"]
        op = draw(st.one_of(st.sampled_from(["eq", "contains", "in"]), st.sampled_from(ops)))
        if op == "in":
            value: Any = draw(st.lists(_value_for(kind, known), max_size=4))
            if draw(st.integers(0, 9)) == 0:
                value = draw(_value_for(kind, known))  # not a list
        else:
            value = draw(_value_for(kind, known))
        return FieldFilter(name, op, value)  # type: ignore[arg-type]

    return build()


def filters(model: dict[str, Stored]) -> st.SearchStrategy[Any]:
    tags = sorted({t for s in model.values() for t in s.tags})
    values = sorted({v for s in model.values() for v in s.props.values()})
    return st.one_of(
        field_filters(model),
        field_filters(model),
        st.builds(
            TagFilter,
            st.lists(st.one_of(*[_near(tags)] * 5, HOSTILE_TEXT), max_size=3).map(tuple),
        ),
        st.builds(
            PropertyFilter,
            st.one_of(*[st.sampled_from(["os_distro", "k"])] * 5, HOSTILE_TEXT),
            st.sampled_from(["eq", "contains"]),
            st.one_of(*[_near(values)] * 4, SAFE_TEXT, HOSTILE_TEXT),
        ),
        st.builds(
            PropertyFilter,
            st.sampled_from(["os_distro", "k"]),
            st.just("in"),
            st.lists(st.one_of(_near(values), SAFE_TEXT), max_size=3),
        ),
    )


SORTS = st.lists(
    st.builds(
        SortKey,
        st.one_of(*[st.sampled_from(SORTABLE)] * 9, HOSTILE_TEXT),
        st.sampled_from(["asc", "desc"] * 6 + ["up"]),
    ),
    max_size=3,
)
CREATE_SPECS = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(WRITTEN_TEXT, st.none()),
        "visibility": st.sampled_from(["private", "shared", "bogus"]),
        "protected": st.one_of(st.booleans(), st.just("yes")),
        "os_hidden": st.booleans(),
        "min_disk": ANY_INT,
        "min_ram": ANY_INT,
        "disk_format": FORMATS,
        "container_format": CONTAINERS,
        "tags": st.lists(WRITTEN_TEXT, max_size=3),
        "os_distro": WRITTEN_TEXT,
        "k": WRITTEN_TEXT,
    },
)
PATCH_OPS = st.lists(
    st.one_of(
        st.builds(
            images.PatchOp,
            st.sampled_from(["add", "replace"]),
            st.sampled_from(
                ["name", "min_disk", "min_ram", "os_hidden", "protected", "disk_format"]
            ),
            st.one_of(WRITTEN_TEXT, ANY_INT, st.booleans(), FORMATS, st.none()),
        ),
        st.builds(
            images.PatchOp,
            st.sampled_from(["add", "replace", "remove"]),
            st.sampled_from(["os_distro", "k", "other"]),
            WRITTEN_TEXT,
        ),
    ),
    min_size=1,
    max_size=3,
)


@dataclass
class World:
    """One database and one event loop for a whole test (examples share them)."""

    runner: asyncio.Runner
    deps: Any
    dialect: str

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    from glimpse.app import build_deps

    root = tmp_path_factory.mktemp("props")
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{root / 'glimpse.db'}"
        asyncio.run(_migrate(url))
    else:
        url = request.getfixturevalue("pg_database")
        asyncio.run(_empty_pg(url))
    runner = asyncio.Runner()
    deps = runner.run(_deps(build_deps, make_settings(Path(root) / "data", url)))
    try:
        yield World(runner, deps, request.param)
    finally:
        runner.run(deps.db.dispose())
        runner.close()


async def _deps(build: Any, settings: Any) -> Any:
    return build(settings)


def _outcome(world: World, coro: Any) -> tuple[Any, GlimpseError | None]:
    try:
        return world.run(coro), None
    except GlimpseError as exc:
        return None, exc


class ImageMachine(RuleBasedStateMachine):
    """One project's images: creates, updates and deletes, listings checked by the model."""

    world: World

    def __init__(self) -> None:
        super().__init__()
        project = f"fuzz-{uuid.uuid4().hex[:12]}"
        principal = Principal(
            user_id="u", project_id=project, roles=frozenset({"member", "reader"})
        )
        self.ctx = RequestContext(principal)
        # Insertion-ordered: ids are random, so choices index creation order (replays of a
        # failing case must pick the same images).
        self.model: dict[str, Stored] = {}

    @initialize()
    def seed(self) -> None:
        for name in ("seed-a", "Seed-B", None):
            self._create({"name": name, "visibility": "private", "tags": ["t"]})

    def _create(self, spec: dict[str, Any]) -> GlimpseError | None:
        record, error = _outcome(
            self.world, images.create(self.world.deps, self.ctx, images.ImageCreate(spec))
        )
        if error is None:
            self.model[record.image.id] = Stored.of(record)
        return error

    @rule(spec=CREATE_SPECS)
    def create(self, spec: dict[str, Any]) -> None:
        error = self._create(spec)
        assert error is None or isinstance(error, InvalidInput), (spec, error)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), ops=PATCH_OPS, dialect_20=st.booleans())
    def update(self, data: st.DataObject, ops: list[images.PatchOp], dialect_20: bool) -> None:
        image_id = data.draw(st.sampled_from(list(self.model)))
        patch = images.ImagePatch(ops=ops, add_must_be_new=dialect_20)
        record, error = _outcome(
            self.world, images.update(self.world.deps, self.ctx, image_id, patch)
        )
        if error is not None:
            assert isinstance(error, InvalidInput | Conflict | Forbidden), (ops, error)
            return
        self.model[image_id] = Stored.of(record)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        image_id = data.draw(st.sampled_from(list(self.model)))
        _, error = _outcome(self.world, images.delete(self.world.deps, self.ctx, image_id))
        if self.model[image_id].attrs["protected"]:
            assert isinstance(error, Forbidden), error
            return
        assert error is None, error
        del self.model[image_id]

    @rule(data=st.data())
    def list_images(self, data: st.DataObject) -> None:
        """Several listings per step: each checked against the model, page by page."""
        for _ in range(4):
            chosen = data.draw(st.lists(filters(self.model), max_size=2))
            shift = data.draw(st.integers(-2, 2))
            query = ListQuery(
                filters=tuple(self._anchor_time(f, shift) for f in chosen),
                sort=tuple(data.draw(SORTS)),
                limit=data.draw(st.integers(1, 4)),
            )
            self._check(query)

    @precondition(lambda self: any(s.attrs["name"] for s in self.model.values()))
    @rule(data=st.data(), op=st.sampled_from(["eq", "contains", "in"]), prop=st.booleans())
    def match_text(self, data: st.DataObject, op: str, prop: bool) -> None:
        """Text matching on values bent from stored ones (case, substrings, LIKE
        metacharacters): where equality, IN and substring semantics can go wrong."""
        stored = sorted(
            {v for s in self.model.values() for v in (s.attrs["name"], *s.props.values()) if v}
        )
        value = data.draw(
            st.one_of(
                _near(stored),
                st.sampled_from(stored).map(lambda t: t[:1] + "%" + t[1:]),
                st.sampled_from(stored).map(lambda t: t.replace("_", "x")),
            )
        )
        arg: Any = [value] if op == "in" else value
        f: Any = PropertyFilter("os_distro", op, arg) if prop else FieldFilter("name", op, arg)
        self._check(ListQuery(filters=(f,), limit=3))

    def _check(self, query: ListQuery) -> None:
        try:
            want: list[str] | None = expected(self.model.values(), query, self.world.dialect)
        except Refused:
            want = None
        got, error = self._walk(query)
        if want is None:
            assert isinstance(error, InvalidInput), (query, got, error)
        else:
            assert error is None, (query, error)
            assert got == want, (query, got, want)

    def _anchor_time(self, f: Any, shift: int) -> Any:
        """Time filters near the images' own creation times, so they select something."""
        if isinstance(f, FieldFilter) and f.field in ("created_at", "updated_at") and self.model:
            some = sorted(s.attrs[f.field] for s in self.model.values())[len(self.model) // 2]
            return FieldFilter(f.field, f.op, some + timedelta(microseconds=shift))
        return f

    def _walk(self, query: ListQuery) -> tuple[list[str], GlimpseError | None]:
        """Every page of the listing, following each page's cursor."""
        seen: list[str] = []
        after = None
        for _ in range(len(self.model) + 2):
            page, error = _outcome(
                self.world,
                images.list_images(self.world.deps, self.ctx, _with(query, after=after)),
            )
            if error is not None:
                return seen, error
            seen += [r.image.id for r in page.items]
            if not page.has_next:
                return seen, None
            after = page.cursor(page.items[-1])
        raise AssertionError(f"pages never end: {seen}")

    def teardown(self) -> None:
        """Whatever happened, every image of the model is listed, hidden or not."""
        got, error = self._walk(
            ListQuery(limit=50, filters=(FieldFilter("os_hidden", "in", [True, False]),))
        )
        assert error is None
        assert sorted(got) == sorted(self.model)


def _with(query: ListQuery, **changes: Any) -> ListQuery:
    from dataclasses import replace

    return replace(query, **changes)


def test_image_operations_match_the_model(world: World) -> None:
    ImageMachine.world = world
    run_state_machine_as_test(ImageMachine, settings=fuzz_settings(25, stateful_step_count=12))
