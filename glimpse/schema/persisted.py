"""Persisted queries: clients send a SHA-256 hash instead of the query text.

Two sources of known hashes:

- a registry file that operators ship with their clients (an Apollo persisted-query manifest,
  ``{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}...]}``, or a
  plain ``{"<sha256>": "<query>"}`` map). With ``persisted_only`` the registry is the whole
  API: nothing else runs, which locks the schema surface down to what the clients use;
- automatic persisted queries (Apollo APQ): a client first sends only the hash, gets
  ``PERSISTED_QUERY_NOT_FOUND``, then sends hash and query once; later requests send the hash
  alone. Registered queries live in a per-process LRU bounded by count and by bytes of
  query text (a worker that has not seen a hash just asks the client for the text again).

The wire format is Apollo's: ``extensions.persistedQuery = {"version": 1, "sha256Hash": h}``.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glimpse.core.config import GraphQLSettings


@dataclass(frozen=True)
class PersistedQueryError(Exception):
    """A persisted-query failure reported as a GraphQL request error."""

    code: str
    message: str
    status: int = 200


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def load_registry(path: str) -> dict[str, str]:
    """Read a manifest or a hash map; every entry is checked against its hash."""
    if not path:
        return {}
    raw = json.loads(Path(path).read_text())
    if isinstance(raw, dict) and "operations" in raw:
        pairs = [(op["id"], op["body"]) for op in raw["operations"]]
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise ValueError(f"{path}: expected a persisted-query manifest or a hash map")
    for h, body in pairs:
        if sha256_hex(body) != h:
            raise ValueError(f"{path}: entry {h} does not match the SHA-256 of its body")
    return dict(pairs)


class PersistedQueries:
    """Resolves ``(query, extensions)`` to the query text to run, or refuses."""

    def __init__(self, settings: GraphQLSettings) -> None:
        self.registry = load_registry(settings.persisted_queries_file)
        self.only = settings.persisted_only
        self.apq = settings.apq and not settings.persisted_only
        self.size, self.budget = settings.apq_cache_size, settings.cache_total_bytes
        self.cache: OrderedDict[str, str] = OrderedDict()
        self.bytes = 0

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The query text to execute (``None`` when neither text nor hash was sent)."""
        pq = (extensions or {}).get("persistedQuery")
        if pq is None:
            if self.only and query is not None:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_REQUIRED",
                    "Only persisted queries are allowed: send extensions.persistedQuery",
                    400,
                )
            return query
        h = pq.get("sha256Hash") if isinstance(pq, dict) else None
        if not isinstance(h, str) or pq.get("version", 1) != 1:
            raise PersistedQueryError(
                "PERSISTED_QUERY_INVALID", "persistedQuery needs version 1 and a sha256Hash", 400
            )
        if query is None:
            return self._lookup(h)
        return self._register(h, query)

    def _lookup(self, h: str) -> str:
        if h in self.registry:
            return self.registry[h]
        if self.apq and h in self.cache:
            self.cache.move_to_end(h)
            return self.cache[h]
        if self.only:
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_ALLOWED", "This hash is not in the persisted-query registry"
            )
        raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")

    def _register(self, h: str, query: str) -> str:
        if sha256_hex(query) != h:
            raise PersistedQueryError(
                "PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query", 400
            )
        if h in self.registry:
            return query
        if self.only:
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_ALLOWED", "This hash is not in the persisted-query registry"
            )
        if not self.apq:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
        if h not in self.cache:
            self.cache[h] = query
            self.bytes += len(query)
        self.cache.move_to_end(h)
        while len(self.cache) > self.size or self.bytes > self.budget:
            _, old = self.cache.popitem(last=False)
            self.bytes -= len(old)
        return query
