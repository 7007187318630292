"""The leaf-field fast path returns exactly what graphql-core's own executor returns."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from glimpse.schema.context import GraphQLContext
from glimpse.schema.fastpath import FastLeafExecutionContext
from glimpse.schema.root import build_schema
from tests.conftest import ctx
from tests.graphql.conftest import Client, make_image

QUERY = """
query($f: ImageFilter) { __typename images(filter: $f, first: 10) { edges { cursor node {
  b: name id name size __typename status visibility isPublic createdAt checksum
  tags second: id properties { value key } minDisk
} } pageInfo { endCursor hasNextPage } } }
"""


@strawberry.enum(description="Probe kinds.")
class ProbeKind(enum.Enum):
    A = "a"
    B = "b"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def _both(app: Any, query: str, variables: dict[str, Any] | None = None) -> list[Any]:
    fast = build_schema()
    plain = build_schema()
    plain.execution_context_class = StrawberryGraphQLCoreExecutionContext
    out = []
    for schema in (fast, plain):
        context = GraphQLContext(deps=app.state.deps, request_ctx=ctx("P1", "member"))
        result = await schema.execute(query, variable_values=variables, context_value=context)
        out.append((result.data, [e.formatted for e in result.errors or ()]))
    return out


async def test_same_data_and_key_order(app: Any, as_member: Client) -> None:
    await make_image(as_member, name="one", tags=["t"], properties=[{"key": "k", "value": "v"}])
    await make_image(as_member, name=None, visibility="PRIVATE")
    fast, plain = await _both(app, QUERY)
    assert fast == plain
    node = fast[0]["images"]["edges"][0]["node"]
    assert list(node) == [
        "b",
        "id",
        "name",
        "size",
        "__typename",
        "status",
        "visibility",
        "isPublic",
        "createdAt",
        "checksum",
        "tags",
        "second",
        "properties",
        "minDisk",
    ]
    assert node["status"] == "QUEUED"
    assert node["__typename"] == "Image"


@strawberry.type(description="A probe.")
class Probe:
    count: int = strawberry.field(description="Non-null, but None here.")
    label: str | None = strawberry.field(description="Nullable.")
    kind: ProbeKind = strawberry.field(description="An enum.")
    prefetched: strawberry.Private[dict[str, Any] | None] = None

    @strawberry.field(description="Resolved, or taken from prefetched by the fast path.")
    def names(self) -> list[str]:
        return ["resolved"]


@strawberry.type(description="Root.")
class ProbeQuery:
    @strawberry.field(description="Probes with broken and good values.")
    def probes(self) -> list[Probe | None]:
        return [
            Probe(count=1, label=None, kind=ProbeKind.A),
            Probe(count=None, label="x", kind=ProbeKind.B),  # type: ignore[arg-type]
            Probe(count=2, label="y", kind="not-a-kind"),  # type: ignore[arg-type]
            Probe(count=3, label="z", kind=ProbeKind.B, prefetched={"names": ["a", None]}),
        ]


async def test_same_errors_for_null_and_invalid_leaves() -> None:
    results = []
    for cls in (FastLeafExecutionContext, StrawberryGraphQLCoreExecutionContext):
        schema = strawberry.Schema(query=ProbeQuery, execution_context_class=cls)
        r = await schema.execute("{ probes { label count kind names } }")
        results.append((r.data, [(e.message, e.path) for e in r.errors or ()]))
    # the plain executor ignores ``prefetched`` and resolves; the fast path refuses the
    # invalid prefetched list and falls back to the resolver too
    assert results[0] == results[1]
    data, errors = results[0]
    assert data == {
        "probes": [
            {"label": None, "count": 1, "kind": "A", "names": ["resolved"]},
            None,
            None,
            {"label": "z", "count": 3, "kind": "B", "names": ["resolved"]},
        ]
    }
    assert [p for _, p in errors] == [["probes", 1, "count"], ["probes", 2, "kind"]]


async def test_prefetched_values_are_used() -> None:
    schema = strawberry.Schema(
        query=PrefetchQuery, execution_context_class=FastLeafExecutionContext
    )
    r = await schema.execute("{ probe { names } }")
    assert r.data == {"probe": {"names": ["from-page"]}}


@strawberry.type(description="Root with a prefetched probe.")
class PrefetchQuery:
    @strawberry.field(description="A probe whose names were loaded with its parent.")
    def probe(self) -> Probe:
        return Probe(count=1, label=None, kind=ProbeKind.A, prefetched={"names": ["from-page"]})
