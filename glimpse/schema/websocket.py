"""GraphQL over WebSocket (graphql-transport-ws only), with the limits HTTP has.

Strawberry's handler runs whatever a ``subscribe`` message carries. Here, before that:

- the caller is identified from the ``connection_init`` payload when it carries
  credentials (browsers cannot set headers on a WebSocket), else from the upgrade
  request's headers;
- each caller (user and project, or client address when anonymous) holds at most
  ``max_connections_per_caller`` acknowledged connections in this process (4429 beyond),
  and each connection at most ``max_subscriptions_per_connection`` operations in flight;
- every operation goes through the same gate as HTTP (:meth:`GraphQLHTTP.admit`): persisted
  queries and ``persisted_only``, the document size cap. A refusal is an ``error`` message
  for that operation id with the same ``extensions.code`` as over HTTP.

The legacy ``graphql-ws`` protocol is not offered: it would bypass all of the above.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from glimpse.core.config import GraphQLSettings
from glimpse.core.context import RequestContext
from glimpse.core.errors import GlimpseError, Unauthenticated
from glimpse.policy.identity import identify
from glimpse.resolvers.accounts import account_token_valid
from glimpse.resolvers.deps import Deps
from glimpse.schema.context import GraphQLContext

if TYPE_CHECKING:
    from glimpse.schema.http import GraphQLHTTP

TOO_MANY = 4429
BAD_MESSAGE = 4400


class CallerConnections:
    """Acknowledged WebSocket connections per caller in this process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def acquire(self, key: str) -> bool:
        if self.open[key] >= self.limit:
            return False
        self.open[key] += 1
        return True

    def release(self, key: str) -> None:
        self.open[key] -= 1
        if self.open[key] <= 0:
            del self.open[key]


def caller_key(context: GraphQLContext) -> str:
    principal = context.request_ctx.principal
    if principal.authenticated and context.auth_error is None:
        return f"user:{principal.user_id}\x1fproject:{principal.project_id}"
    client = getattr(context.request, "client", None)
    return f"addr:{client.host if client else '?'}"


async def authenticate(context: GraphQLContext, params: dict[str, Any]) -> None:
    """Credentials of the ``connection_init`` payload (``Authorization`` or
    ``X-Auth-Token``, as in HTTP headers) replace those of the upgrade request."""
    headers = {str(k): str(v) for k, v in params.items()}
    if not any(k.lower() in ("authorization", "x-auth-token") for k in headers):
        return
    verifier = context.request.app.state.verifier
    try:
        principal = await identify(headers, verifier, trusted_proxy=False)
        if not await account_token_valid(context.deps, principal):
            raise Unauthenticated("Token revoked: sign in again")
    except GlimpseError as exc:
        context.auth_error = exc
    else:
        context.auth_error = None
        context.request_ctx = RequestContext(
            principal=principal, request_id=context.request_ctx.request_id
        )


class GlimpseTransportWS(BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    """graphql-transport-ws with caller limits and the HTTP admission gate."""

    caller: str | None = None

    @property
    def gate(self) -> GraphQLHTTP:
        return cast("GlimpseGraphQL", self.view).gate

    async def handle_connection_init(self, message: Any) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            await self.websocket.close(BAD_MESSAGE, "Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(TOO_MANY, "Too many initialisation requests")
            return
        self.connection_init_received = True
        self.context.connection_params = payload
        await authenticate(self.context, payload)
        key = caller_key(self.context)
        if not cast("GlimpseGraphQL", self.view).connections.acquire(key):
            await self.websocket.close(TOO_MANY, "Too many connections for this caller")
            return
        self.caller = key
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True

    async def handle_subscribe(self, message: Any) -> None:
        payload = message.get("payload")
        if not isinstance(payload, dict):
            await self.handle_invalid_message("Subscribe messages need a payload object")
            return
        if not self.connection_acknowledged or message["id"] in self.operations:
            await super().handle_subscribe(message)  # strawberry closes the connection
            return
        admitted = self.gate.admit_websocket(payload)
        if isinstance(admitted, dict):
            error: Any = {"id": message["id"], "type": "error", "payload": [admitted]}
            await self.send_message(error)
            return
        admitted_message: Any = {**message, "payload": {**payload, "query": admitted}}
        await super().handle_subscribe(admitted_message)

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            if self.caller is not None:
                cast("GlimpseGraphQL", self.view).connections.release(self.caller)
                self.caller = None


class GlimpseGraphQL(GraphQL[GraphQLContext, None]):
    """Strawberry's ASGI app, for WebSockets only, with our context and handler."""

    graphql_transport_ws_handler_class = GlimpseTransportWS

    def __init__(self, schema: Any, settings: GraphQLSettings, gate: GraphQLHTTP) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        )
        self.gate = gate
        self.connections = CallerConnections(settings.max_connections_per_caller)

    async def get_context(
        self, request: Request | WebSocket, response: Any = None
    ) -> GraphQLContext:
        deps: Deps = request.app.state.deps
        rctx: RequestContext = request.scope["glimpse.ctx"]
        err: GlimpseError | None = request.scope.get("glimpse.auth_error")
        return GraphQLContext(
            deps=deps, request_ctx=rctx, auth_error=err, request=request, response=response
        )
