"""GraphQL execution for HTTP requests: graphql-core driven directly.

Strawberry's ``Schema.execute`` builds an execution context, a set of extension instances and
their hook generators for every request; on a small query that machinery cost more than the
query. Here the work that depends only on the document (parse, operation types, validation
with the schema's rules) is done once per distinct document and kept in a bounded cache, and
each request runs just what depends on it: the cost budget (priced with its variables), then
graphql-core's executor with the fast leaf path, then error codes. Subscriptions (WebSocket)
and traced requests keep strawberry's executor; both apply the same rules and error codes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    parse,
    specified_rules,
    validate,
)
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType

from glimpse.schema.cost import budget_error, operation_cost
from glimpse.schema.errors import coded
from glimpse.schema.fastpath import FastLeafExecutionContext

# Documents kept: by number and by total size of their text (a document's AST is tens of
# times its text), so that many or huge distinct documents cannot grow the cache unbounded.
# The byte bounds are the settings graphql.cache_query_bytes / cache_total_bytes.
CACHE_DOCUMENTS = 512


@dataclass(frozen=True, slots=True)
class Prepared:
    """What a document's text gives, independent of the request."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    operations: Mapping[str | None, OperationType]  # name (None: the first) -> type
    # Prices of operations whose price does not depend on variables, by operation name.
    costs: dict[str | None, tuple[OperationDefinitionNode, int]] = field(default_factory=dict)


class DocumentCache:
    """Least recently used :class:`Prepared` documents, bounded in count and bytes."""

    def __init__(
        self, entry_bytes: int, total_bytes: int, documents: int = CACHE_DOCUMENTS
    ) -> None:
        self.entry_bytes, self.size, self.documents = entry_bytes, total_bytes, documents
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self._bytes = 0

    def get(self, query: str) -> Prepared | None:
        hit = self._entries.get(query)
        if hit is not None:
            self._entries.move_to_end(query)
        return hit

    def put(self, query: str, prepared: Prepared) -> None:
        """Keep a valid document (refused ones are not worth memory an attacker controls)."""
        if prepared.errors or len(query) > self.entry_bytes or query in self._entries:
            return
        self._entries[query] = prepared
        self._bytes += len(query)
        while len(self._entries) > self.documents or self._bytes > self.size:
            old, _ = self._entries.popitem(last=False)
            self._bytes -= len(old)


def _operations(document: DocumentNode) -> dict[str | None, OperationType]:
    found: dict[str | None, OperationType] = {}
    for d in document.definitions:
        if isinstance(d, OperationDefinitionNode):
            kind = OperationType(d.operation.value)
            found.setdefault(None, kind)
            if d.name is not None:
                found.setdefault(d.name.value, kind)
    return found


class Executor:
    """Runs a query or mutation of ``schema`` (see the module docstring)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        rules: Collection[type[ASTValidationRule]],
        *,
        max_cost: int,
        default_page: int,
        max_tokens: int | None = None,
        cache_entry_bytes: int = 16 * 1024,
        cache_total_bytes: int = 1024 * 1024,
    ) -> None:
        self.schema = schema
        self.max_tokens = max_tokens
        self.rules = (*specified_rules, *rules)
        self.max_cost, self.default_page = max_cost, default_page
        self.cache = DocumentCache(cache_entry_bytes, cache_total_bytes)

    def prepare(self, query: str) -> Prepared:
        """Parse and validate ``query`` (cached by its text)."""
        hit = self.cache.get(query)
        if hit is not None:
            return hit
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            prepared = Prepared(None, (error,), {})
        else:
            errors = validate(self.schema, document, self.rules)
            prepared = Prepared(document, tuple(errors), _operations(document))
        self.cache.put(query, prepared)
        return prepared

    def _over_budget(
        self, prepared: Prepared, operation_name: str | None, variables: Mapping[str, Any]
    ) -> GraphQLError | None:
        """The cost error, if any; a price that does not depend on variables is kept."""
        known = prepared.costs.get(operation_name)
        if known is None:
            assert prepared.document is not None
            found = operation_cost(
                self.schema, prepared.document, operation_name, variables, self.default_page
            )
            if found is None:
                return None
            op, cost, varies = found
            known = (op, cost)
            if not varies:
                prepared.costs[operation_name] = known
        op, cost = known
        return budget_error(op, cost, self.max_cost) if cost > self.max_cost else None

    async def execute(
        self,
        query: str,
        *,
        variables: dict[str, Any] | None,
        context: Any,
        operation_name: str | None,
        allowed: Collection[OperationType],
        request_id: str,
        extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """The result of one request; pre-execution failures are :class:`PreExecutionError`.

        Raises strawberry's ``InvalidOperationTypeError`` / ``CannotGetOperationTypeError``
        like its own executor, so the HTTP layer answers both paths alike.
        """
        prepared = self.prepare(query)
        if prepared.document is None or prepared.errors:
            return PreExecutionError(
                data=None, errors=[coded(e, request_id) for e in prepared.errors]
            )
        kind = prepared.operations.get(operation_name)
        if kind is None:
            raise CannotGetOperationTypeError(operation_name)
        if kind not in allowed:
            raise InvalidOperationTypeError(kind)
        over = self._over_budget(prepared, operation_name, variables or {})
        if over is not None:
            return PreExecutionError(data=None, errors=[coded(over, request_id)])
        outcome = execute(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            executor_class=FastLeafExecutionContext,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
            operation_extensions=extensions,
        )
        result = await outcome if isinstance(outcome, Awaitable) else outcome
        errors = [coded(e, request_id) for e in result.errors] if result.errors else None
        return ExecutionResult(data=result.data, errors=errors)
