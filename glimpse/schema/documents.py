"""GraphQL documents: refused early when hostile, cached within a byte budget.

Measured with tracemalloc (a server fed a few hundred refused documents: deep nesting,
thousands of aliases or fragments, large variables): resident memory grew by ~1.8 MiB per
document and stayed. Not a leak: strawberry's ParserCache and ValidationCache are LRU
caches of 512 *entries* each, and an entry held the whole syntax tree of a document of up
to a megabyte (about fifty times its text in Python objects), refused or not. So:

- before anything parses it, a document longer than ``max_query_bytes`` characters, or
  nesting brackets deeper than :data:`MAX_NESTING` (graphql-core's recursive descent
  parser would otherwise hit Python's recursion limit), is refused (:func:`check_text`);
- parsing stops after ``max_tokens`` lexer tokens (graphql-core's own limit);
- :class:`DocumentCache` keeps parse and validation results only for documents up to
  ``cache_query_bytes`` characters, evicting the least recently used while the cached
  text exceeds ``cache_total_bytes``: memory is bounded by bytes, not by a count of
  entries of unbounded size. One cache per schema (strawberry's are process globals).
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    StringValueNode,
    ValidationRule,
    parse,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_NESTING = 64
_OPEN, _CLOSE = frozenset("{[("), frozenset("}])")


class DocumentRefused(Exception):
    """A document refused before parsing: (code, message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def check_text(query: str, max_chars: int) -> None:
    """Refuse a document that is too long or nests too deeply, before parsing it."""
    if len(query) > max_chars:
        raise DocumentRefused(
            "QUERY_TOO_LARGE", f"The document is longer than {max_chars} characters"
        )
    if nesting(query) > MAX_NESTING:
        raise DocumentRefused(
            "QUERY_TOO_DEEP", f"The document nests brackets deeper than {MAX_NESTING} levels"
        )


def nesting(query: str) -> int:
    """Deepest bracket nesting outside strings and comments (a lexer's view, no parse)."""
    depth = deepest = i = 0
    n = len(query)
    while i < n:
        c = query[i]
        if c == "#":
            end = query.find("\n", i)
            i = n if end < 0 else end
        elif c == '"':
            i = _skip_string(query, i)
            continue
        elif c in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif c in _CLOSE:
            depth -= 1
        i += 1
    return deepest


def _skip_string(query: str, i: int) -> int:
    """Index just past the string starting at ``i`` (block strings included)."""
    if query.startswith('"""', i):
        end = query.find('"""', i + 3)
        while end > 0 and query[end - 1] == "\\":
            end = query.find('"""', end + 3)
        return len(query) if end < 0 else end + 3
    j = i + 1
    while j < len(query) and query[j] not in '"\n':
        j += 2 if query[j] == "\\" else 1
    return j + 1


@dataclass
class _Entry:
    document: DocumentNode
    validations: dict[tuple[type[ASTValidationRule], ...], list[GraphQLError]] = field(
        default_factory=dict
    )


class DocumentCache:
    """Parsed documents and their validation results, bounded by bytes of query text."""

    def __init__(self, max_entry: int, max_total: int) -> None:
        self.max_entry, self.max_total = max_entry, max_total
        self.entries: OrderedDict[str, _Entry] = OrderedDict()
        self.total = 0

    def parse(self, query: str, options: dict[str, Any]) -> DocumentNode:
        entry = self.entries.get(query)
        if entry is not None:
            self.entries.move_to_end(query)
            return entry.document
        document = parse(query, **options)
        if len(query) <= self.max_entry:
            self._store(query, _Entry(document))
        return document

    def validate(
        self,
        query: str,
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        entry = self.entries.get(query)
        if entry is None or entry.document is not document:
            return validate_document(schema, document, rules)
        if rules not in entry.validations:
            entry.validations[rules] = validate_document(schema, document, rules)
        return entry.validations[rules]

    def _store(self, query: str, entry: _Entry) -> None:
        self.entries[query] = entry
        self.total += len(query)
        while self.total > self.max_total and self.entries:
            old, _ = self.entries.popitem(last=False)
            self.total -= len(old)


class CachedDocuments(SchemaExtension):
    """Parses with the token cap and through the shared :class:`DocumentCache`."""

    def __init__(self, cache: DocumentCache, max_tokens: int) -> None:
        self.cache, self.max_tokens = cache, max_tokens

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.parse_options["max_tokens"] = self.max_tokens
        # On a syntax error strawberry parses again (within max_tokens) and reports it.
        with contextlib.suppress(GraphQLError):
            if ctx.query:
                ctx.graphql_document = self.cache.parse(ctx.query, dict(ctx.parse_options))
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.query and ctx.graphql_document is not None:
            ctx.pre_execution_errors = self.cache.validate(
                ctx.query, ctx.schema._schema, ctx.graphql_document, ctx.validation_rules
            )
        yield


class PlainTextLiterals(ValidationRule):
    """String literals in a document must not contain NUL: PostgreSQL cannot store it, and
    no value of this API needs it (variables get the same check as every JSON body)."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if "\x00" in node.value:
            self.report_error(
                GraphQLError(
                    "String values must not contain NUL characters",
                    node,
                    extensions={"code": "BAD_USER_INPUT"},
                )
            )
