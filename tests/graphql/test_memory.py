"""Memory that does not come back: a live server fed hundreds of refused hostile documents
(deep nesting, thousands of aliases and fragments, large variables, depth and alias limit
violations) keeps a flat resident size once warm. Before the document caches were bounded
by bytes, every such document kept ~1.8 MiB alive."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from typing import Any

import httpx

from tests.conftest import LiveServer, server_rss

MiB = 1024 * 1024
GQL = "application/graphql-response+json"


def hostile(count: int, seed: int) -> Iterator[dict[str, Any]]:
    """``count`` distinct hostile requests (distinct texts defeat any cache)."""
    rnd = random.Random(seed)
    for i in range(count):
        tag = "".join(rnd.choice(string.ascii_lowercase) for _ in range(10))
        kind = i % 6
        if kind == 0:  # nesting far past any limit
            yield {"query": "{ " + tag + " " + "a { " * 2000 + "b" + " }" * 2000 + " }"}
        elif kind == 1:  # 3000 aliases: a document past the size cap
            yield {"query": "{ " + " ".join(f"{tag}{k}: __typename" for k in range(3000)) + " }"}
        elif kind == 2:  # 800 fragments: past the token cap
            frags = " ".join(f"fragment F{tag}{k} on Query {{ __typename }}" for k in range(800))
            spreads = " ".join(f"...F{tag}{k}" for k in range(800))
            yield {"query": "{ " + spreads + " } " + frags}
        elif kind == 3:  # large variables, refused by variable coercion
            yield {
                "query": f"query {tag}($v: Int) {{ __typename }}",
                "variables": {"v": ["x" * 100] * 8000},
            }
        elif kind == 4:  # small but over the alias limit (parsed and validated)
            yield {"query": "{ " + " ".join(f"{tag}{k}: __typename" for k in range(40)) + " }"}
        else:  # small but too deep for validation
            yield {
                "query": "{ "
                + tag
                + ": images { "
                + "edges { node { " * 8
                + "id"
                + " } }" * 8
                + " } }"
            }


def _send(client: httpx.Client, bodies: Iterator[dict[str, Any]]) -> None:
    for body in bodies:
        r = client.post("/graphql", json=body)
        assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
        codes = [e.get("extensions", {}).get("code") for e in r.json().get("errors", [])]
        assert codes, r.text[:300]
        assert "INTERNAL_SERVER_ERROR" not in codes


def test_refused_documents_leave_memory_flat(live_server: LiveServer) -> None:
    live = live_server
    headers = {"Accept": GQL, "X-Auth-Token": live.token("P1")}
    with httpx.Client(base_url=live.url, headers=headers, timeout=60) as client:
        _send(client, hostile(120, seed=1))  # warm-up: imports, caches filled to their bound
        before = server_rss(live)
        _send(client, hostile(300, seed=2))
        grown = server_rss(live) - before
    assert grown < 24 * MiB, f"resident memory grew by {grown / MiB:.1f} MiB"
