"""A GraphQL fuzzer driven by the schema (hypothesis-graphql), against a live server.

Queries and mutations are generated from the executable schema (federation's
``_entities`` included) with arbitrary arguments: strings with NUL, BigInts past 64 bits,
arbitrary JSON, entity representations of every type, and, in negative mode, documents
that violate the schema. Every response must be an answer, never a failure of the
server: no 5xx, a JSON body, and no error masked as INTERNAL_SERVER_ERROR (an unexpected
exception somewhere); every error carries an ``extensions.code``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import print_schema
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from glimpse.schema.root import build_schema
from tests.conftest import LiveServer, start_server, stop_server
from tests.fuzz.conftest import fuzz_settings

pytestmark = pytest.mark.fuzz

GQL = "application/graphql-response+json"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _scalar_strategies() -> dict[str, st.SearchStrategy[Any]]:
    """AST nodes for the custom scalars (hypothesis-graphql builds documents from nodes)."""
    from graphql import (
        BooleanValueNode,
        IntValueNode,
        ListValueNode,
        NullValueNode,
        ObjectFieldNode,
        ObjectValueNode,
        StringValueNode,
    )
    from graphql.language import NameNode

    def node(value: Any) -> Any:
        if value is None:
            return NullValueNode()
        if isinstance(value, bool):
            return BooleanValueNode(value=value)
        if isinstance(value, int):
            return IntValueNode(value=str(value))
        if isinstance(value, str):
            return StringValueNode(value=value)
        if isinstance(value, list):
            return ListValueNode(values=tuple(node(v) for v in value))
        return ObjectValueNode(
            fields=tuple(
                ObjectFieldNode(name=NameNode(value=k), value=node(v))
                for k, v in value.items()
                if k.isidentifier() and k.isascii()
            )
        )

    representation = st.fixed_dictionaries(
        {
            "__typename": st.sampled_from(["Image", "Task", "MetadefNamespace", "Nope"]),
            "id": st.one_of(st.uuids().map(str), st.text(max_size=5)),
            "namespace": st.text(max_size=8),
        }
    )
    return {
        "BigInt": st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**80), 2**80)).map(
            lambda n: IntValueNode(value=str(n))
        ),
        "DateTime": st.sampled_from(["2024-01-01T00:00:00Z", "garbage", "9999-12-31T23:59:59"]).map(
            lambda s: StringValueNode(value=s)
        ),
        "JSON": JSON_VALUES.map(node),
        "_Any": representation.map(node),
        "_FieldSet": st.sampled_from(["id", "namespace"]).map(lambda s: StringValueNode(value=s)),
        "link__Import": st.just(StringValueNode(value="@key")),
    }


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    root = Path(tempfile.mkdtemp(prefix="glimpse-gqlfuzz-"))
    srv = start_server(root / "data")
    try:
        yield srv
    finally:
        stop_server(srv)
        shutil.rmtree(root, ignore_errors=True)


class Verdicts:
    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.failures: list[str] = []

    def check(self, query: str, response: httpx.Response) -> None:
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code}: {query[:300]}")
            return
        body = response.json()
        errors = body.get("errors") or []
        codes = [(e.get("extensions") or {}).get("code") for e in errors]
        self.seen.update(codes or ["ok"])
        if None in codes or "INTERNAL_SERVER_ERROR" in codes:
            self.failures.append(f"{codes} {errors[:2]}: {query[:300]}")


def _run(server: LiveServer, strategy: st.SearchStrategy[Any], examples: int) -> Verdicts:
    verdicts = Verdicts()
    headers = {"Authorization": f"Bearer {server.token('P1')}", "Accept": GQL}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:

        @given(query=strategy)
        @fuzz_settings(examples)
        def run(query: str) -> None:
            verdicts.check(query, client.post("/graphql", json={"query": query}))

        run()
    return verdicts


SDL = print_schema(build_schema()._schema)


STRATEGIES = {"query": queries, "mutation": mutations}


@pytest.mark.parametrize(
    ("operation", "mode"),
    [("query", Mode.POSITIVE), ("mutation", Mode.POSITIVE), ("query", Mode.NEGATIVE)],
    ids=["queries", "mutations", "invalid-queries"],
)
def test_schema_driven_documents_never_break_the_server(
    server: LiveServer, operation: str, mode: Mode
) -> None:
    strategy = STRATEGIES[operation](SDL, custom_scalars=_scalar_strategies(), mode=mode)
    verdicts = _run(server, strategy, 200)
    print(operation, mode.name, dict(verdicts.seen))
    assert verdicts.failures == [], "\n".join(verdicts.failures[:20])
