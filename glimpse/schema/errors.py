"""Expected failures carry ``extensions.code``; anything else is masked with a request id."""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from glimpse.core.errors import GlimpseError

log = logging.getLogger("glimpse.graphql")


def coded(error: GraphQLError, request_id: str) -> GraphQLError:
    """``error`` with ``extensions.code``; an unexpected exception becomes a masked error
    naming the request id, and is logged with its trace.

    GraphQL's own parse and validation errors (no ``original_error``) pass through with code
    ``GRAPHQL_VALIDATION_FAILED``; the request id in masked errors finds the logged trace.
    """
    orig = error.original_error
    if orig is None:
        # Our own rules (cost) bring a code; graphql-core's parse/validation errors don't.
        error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED", **(error.extensions or {})}
        return error
    if isinstance(orig, GlimpseError):
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=orig,
            extensions={"code": orig.code},
        )
    if isinstance(orig, GraphQLError):  # e.g. a scalar's parse error
        error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
        return error
    log.error("unexpected error (%s) at %s", request_id, error.path, exc_info=orig)
    return GraphQLError(
        f"Internal server error (request {request_id})",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    )


class ErrorCodes(MaskErrors):
    """:func:`coded` for every error, as a strawberry extension (the WebSocket transport and
    traced requests run through strawberry's own executor)."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        rid = self._request_id()
        return [coded(e, rid) for e in errors]

    def _request_id(self) -> str:
        ctx = self.execution_context.context
        rc = getattr(ctx, "request_ctx", None)
        return rc.request_id if rc is not None else ""
