"""A faster path through graphql-core's executor for plain leaf fields.

A page of 100 images with a dozen scalar fields is 1,200+ field executions; graphql-core
builds a path, a resolve-info object and a completion chain for each, which made GraphQL
two to three times slower than rendering the same page as REST JSON. Most of those fields
are strawberry "basic fields" (plain attributes, no resolver, no arguments) of scalar or
enum type: their value is ``getattr(source, python_name)`` put through the type's
``serialize``. Leaf-list fields with resolvers (``tags``) qualify when the source object
already holds their value in a ``prefetched`` mapping keyed by the Python field name. This
execution context produces those values directly and hands everything else (other
resolvers, objects, non-null violations, invalid values, middleware such as ftv1 tracing)
to graphql-core unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLEnumType,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

BACKREF = "strawberry-definition"
FALLBACK = object()


@dataclass(frozen=True, slots=True)
class Entry:
    """How to produce one field without graphql-core: where the value is, how to serialise.

    ``basic`` fields are plain attributes. Other fields qualify only when the source object
    carries an already-resolved value in its ``prefetched`` mapping (e.g. an image of a page
    whose tags were loaded with the page); without one they take the normal resolver path.
    """

    attr: str
    leaf: Any
    nullable: bool
    basic: bool
    items_nullable: bool | None  # None: not a list
    plain_str: bool = False  # GraphQL String or ID: a str value is its own serialisation
    names: dict[Any, str] | None = None  # an enum's value -> name (what serialize returns)


Plan = dict[tuple[str, str], Entry]
_PLANS: WeakKeyDictionary[GraphQLSchema, Plan] = WeakKeyDictionary()


def _unwrap(t: Any) -> tuple[Any, bool]:
    return (t.of_type, False) if isinstance(t, GraphQLNonNull) else (t, True)


def _entry(f: Any, sf: Any) -> Entry | None:
    outer, nullable = _unwrap(f.type)
    items: bool | None = None
    if isinstance(outer, GraphQLList):
        outer, items = _unwrap(outer.of_type)
    if not isinstance(outer, GraphQLScalarType | GraphQLEnumType):
        return None
    plain = outer in (GraphQLString, GraphQLID)
    names = None
    if isinstance(outer, GraphQLEnumType):
        try:
            names = {v.value: name for name, v in outer.values.items()}
        except TypeError:  # unhashable enum values: serialise the normal way
            names = None
    return Entry(sf.python_name, outer, nullable, bool(sf.is_basic_field), items, plain, names)


def _plan(schema: GraphQLSchema) -> Plan:
    """(type, field) -> Entry for every argument-less field of leaf or list-of-leaf type."""
    plan: Plan = {}
    for type_name, t in schema.type_map.items():
        if not isinstance(t, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for field_name, f in t.fields.items():
            sf = (f.extensions or {}).get(BACKREF)
            if sf is None or f.args:
                continue
            entry = _entry(f, sf)
            if entry is not None:
                plan[(type_name, field_name)] = entry
    return plan


def _fast_value(entry: Entry, source: Any) -> Any:
    """The serialised value, or FALLBACK when graphql-core must handle the field."""
    if entry.basic:
        value = getattr(source, entry.attr, None)
    else:
        pre = getattr(source, "prefetched", None)
        if not isinstance(pre, dict) or entry.attr not in pre:
            return FALLBACK
        value = pre[entry.attr]
    if value is None:
        return None if entry.nullable else FALLBACK  # graphql-core reports the null
    try:
        if entry.items_nullable is None:
            # Strings need no serialising (graphql-core's String would return them as is),
            # enum values are a dict lookup (what the enum's serialize does, less its checks).
            if entry.plain_str and type(value) is str:
                return value
            if entry.names is not None and type(value) is str:
                name = entry.names.get(value)
                return FALLBACK if name is None else name
            return entry.leaf.serialize(value)
        if not entry.items_nullable and any(v is None for v in value):
            return FALLBACK
        if entry.plain_str and all(type(v) is str for v in value):
            return list(value)
        return [None if v is None else entry.leaf.serialize(v) for v in value]
    except Exception:  # an invalid value: graphql-core builds the located error
        return FALLBACK


class FastLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Resolves leaf fields inline when it can; any doubt falls back to the normal path."""

    # (id of a grouped field set, type) -> (that set, kept alive so its id stays unique
    # for this request; its fields' entries).
    _entries: dict[tuple[int, str], tuple[Any, list[tuple[str, Entry | None]]]]

    def _plan_for(
        self, parent_type: GraphQLObjectType, grouped: Any
    ) -> list[tuple[str, Entry | None]]:
        """(response name, entry) of each field of a grouped field set. graphql-core reuses
        one grouped set for every object of a list, so this is worked out once per list."""
        try:
            cache = self._entries
        except AttributeError:
            cache = self._entries = {}
        key = (id(grouped), parent_type.name)
        hit = cache.get(key)
        if hit is not None:
            return hit[1]
        plan = _PLANS.get(self.schema)
        if plan is None:
            plan = _PLANS[self.schema] = _plan(self.schema)
        name = parent_type.name
        found = [(r, plan.get((name, d[0].node.name.value))) for r, d in grouped.items()]
        cache[key] = (grouped, found)
        return found

    def complete_iterable_value(
        self,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        items: Any,
        position_context: Any,
    ) -> Any:
        """A list of objects whose selected fields are all plain leaves (a page's ``nodes``)
        is produced here in one loop; anything else, or any doubt, goes the normal way."""
        done = self._leaf_objects(item_type, field_details_list, path, items)
        if done is not None:
            return done
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    def _leaf_objects(
        self, item_type: Any, field_details_list: Any, path: Any, items: Any
    ) -> list[Any] | None:
        inner, _ = _unwrap(item_type)
        if (
            not isinstance(inner, GraphQLObjectType)
            or inner.is_type_of is not None
            or not isinstance(items, list)
            or self.get_stream_usage(field_details_list, path) is not None
        ):
            return None
        mm = self.middleware_manager
        if mm is not None and getattr(mm, "_middleware_resolvers", None):
            return None
        grouped, new_defer_usages, _ = self.collect_subfields(inner, field_details_list)
        if new_defer_usages:
            return None
        plan = self._plan_for(inner, grouped)
        if any(entry is None for _, entry in plan):
            return None
        out: list[Any] = []
        for item in items:
            if item is None:
                return None  # graphql-core knows how to report a null item
            row: dict[str, Any] = {}
            for response_name, entry in plan:
                value = _fast_value(entry, item)  # type: ignore[arg-type]
                if value is FALLBACK:
                    return None
                row[response_name] = value
            out.append(row)
        return out

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        mm = self.middleware_manager
        if mm is not None and getattr(mm, "_middleware_resolvers", None):
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        fast: dict[str, Any] = {}
        rest: dict[str, Any] | None = None
        for response_name, entry in self._plan_for(parent_type, grouped_field_set):
            value = FALLBACK if entry is None else _fast_value(entry, source_value)
            if value is FALLBACK:
                if rest is None:
                    rest = {}
                rest[response_name] = grouped_field_set[response_name]
            else:
                fast[response_name] = value
        if rest is None:
            return fast
        return self._merge(
            parent_type, source_value, path, grouped_field_set, rest, fast, position_context
        )

    def _merge(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped: Any,
        rest: dict[str, Any],
        fast: dict[str, Any],
        position_context: Any,
    ) -> Any:
        """Runs the remaining fields the normal way and keeps the requested field order."""
        others = super().execute_fields(parent_type, source_value, path, rest, position_context)
        order = list(grouped)

        def combine(done: dict[str, Any]) -> dict[str, Any]:
            both = {**fast, **done}
            return {k: both[k] for k in order if k in both}

        if isinstance(others, dict):
            return combine(others)

        async def later() -> dict[str, Any]:
            return combine(await others)

        return later()
