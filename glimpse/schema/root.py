"""The federated schema (Apollo Federation v2 subgraph) and its ASGI app."""

from __future__ import annotations

from functools import partial
from typing import Any, cast

import strawberry
from graphql import ASTValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import (
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.extensions.tracing.apollo_federation import ApolloFederationTracingExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types.unset import UNSET, UnsetType

from glimpse.core.config import GraphQLSettings
from glimpse.core.context import RequestContext
from glimpse.core.errors import GlimpseError, Unauthenticated
from glimpse.policy.identity import identify
from glimpse.resolvers.accounts import account_token_valid
from glimpse.resolvers.deps import Deps
from glimpse.schema.accounts import AccountMutation
from glimpse.schema.context import GraphQLContext
from glimpse.schema.cost import CostLimiter, StaticRules
from glimpse.schema.errors import ErrorCodes
from glimpse.schema.executor import Executor
from glimpse.schema.fastpath import FastLeafExecutionContext
from glimpse.schema.http import GraphQLHTTP
from glimpse.schema.image_mutations import ImageMutation
from glimpse.schema.images import ImageQuery
from glimpse.schema.links import LinkMutation
from glimpse.schema.metadef_mutations import MetadefMutation
from glimpse.schema.metadef_types import MetadefNamespace
from glimpse.schema.metadefs import MetadefQuery
from glimpse.schema.scalars import SCALAR_MAP
from glimpse.schema.stores import StoreMutation, StoreQuery
from glimpse.schema.tasks import Subscription, Task, TaskMutationMixin, TaskQueryMixin
from glimpse.schema.types import Image


@strawberry.type(description="Read operations of the Glimpse image service.")
class Query(ImageQuery, MetadefQuery, StoreQuery, TaskQueryMixin):
    pass


@strawberry.type(description="Write operations of the Glimpse image service.")
class Mutation(
    ImageMutation, LinkMutation, MetadefMutation, StoreMutation, TaskMutationMixin, AccountMutation
):
    pass


class GlimpseSchema(strawberry.federation.Schema):
    """Strawberry logs every error, client mistakes included; ErrorCodes logs the unexpected
    ones with their request id, so the default logging is switched off. ``static_rules`` are
    the validation rules added to graphql's own (depth, aliases, introspection)."""

    static_rules: tuple[type[ASTValidationRule], ...] = ()

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        return None


def build_schema(settings: GraphQLSettings | None = None, page_default: int = 25) -> GlimpseSchema:
    """The federated schema with the protection extensions the settings ask for."""
    settings = settings or GraphQLSettings()
    # Factories, not instances: strawberry shares an instance between concurrent requests
    # (and warns about it), while extensions keep per-request state (masking's request id).
    # Validation rules are built once so that validation results can be cached per document.
    rules = (
        *QueryDepthLimiter(max_depth=settings.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
        *(() if settings.introspection else (NoSchemaIntrospectionCustomRule,)),
    )
    extensions: list[Any] = [
        ErrorCodes,
        partial(ParserCache, maxsize=512),
        partial(StaticRules, rules),
        partial(ValidationCache, maxsize=512),
        partial(CostLimiter, max_cost=settings.max_cost, default_page=page_default),
    ]
    if settings.tracing:
        extensions.append(ApolloFederationTracingExtension)
    schema = GlimpseSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Image, MetadefNamespace, Task],
        extensions=extensions,
        execution_context_class=FastLeafExecutionContext,
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALAR_MAP),
    )
    schema.static_rules = rules
    return schema


class GlimpseGraphQL(GraphQL[GraphQLContext, None]):
    """Strawberry's ASGI app with our context: caller, dependencies and loaders."""

    async def get_context(
        self, request: Request | WebSocket, response: Any = None
    ) -> GraphQLContext:
        deps: Deps = request.app.state.deps
        rctx: RequestContext = request.scope["glimpse.ctx"]
        err: GlimpseError | None = request.scope.get("glimpse.auth_error")
        return GraphQLContext(
            deps=deps, request_ctx=rctx, auth_error=err, request=request, response=response
        )

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType | dict[str, object] | None:
        """Browsers cannot set headers on a WebSocket: a subscription client may send its
        credentials in the ``connection_init`` payload instead (``Authorization`` or
        ``X-Auth-Token``, as in HTTP headers)."""
        params = {str(k): str(v) for k, v in (context.connection_params or {}).items()}
        if any(k.lower() in ("authorization", "x-auth-token") for k in params):
            verifier = context.request.app.state.verifier
            try:
                principal = await identify(params, verifier, trusted_proxy=False)
                if not await account_token_valid(context.deps, principal):
                    raise Unauthenticated("Token revoked: sign in again")
            except GlimpseError as exc:
                context.auth_error = exc
            else:
                context.auth_error = None
                context.request_ctx = RequestContext(
                    principal=principal, request_id=context.request_ctx.request_id
                )
        return cast(UnsetType, UNSET)


def graphql_app(settings: GraphQLSettings, page_default: int = 25) -> GraphQLHTTP:
    """``/graphql``: our GraphQL-over-HTTP endpoint; WebSockets go to strawberry's app."""
    schema = build_schema(settings, page_default)
    executor = None
    if not settings.tracing:  # traced requests need strawberry's per-request extensions
        executor = Executor(
            schema._schema,
            schema.static_rules,
            max_cost=settings.max_cost,
            default_page=page_default,
        )
    return GraphQLHTTP(
        schema, settings, websocket_app=GlimpseGraphQL(schema, graphql_ide=None), executor=executor
    )
