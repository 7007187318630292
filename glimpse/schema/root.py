"""The federated schema (Apollo Federation v2 subgraph) and its ASGI app."""

from __future__ import annotations

from typing import Any

import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from glimpse.core.config import GraphQLSettings
from glimpse.core.context import RequestContext
from glimpse.core.errors import GlimpseError
from glimpse.resolvers.deps import Deps
from glimpse.schema.context import GraphQLContext
from glimpse.schema.errors import ErrorCodes
from glimpse.schema.images import ImageMutation, ImageQuery
from glimpse.schema.metadef_mutations import MetadefMutation
from glimpse.schema.metadef_types import MetadefNamespace
from glimpse.schema.metadefs import MetadefQuery
from glimpse.schema.scalars import SCALAR_MAP
from glimpse.schema.types import Image


@strawberry.type(description="Read operations of the Glimpse image service.")
class Query(ImageQuery, MetadefQuery):
    pass


@strawberry.type(description="Write operations of the Glimpse image service.")
class Mutation(ImageMutation, MetadefMutation):
    pass


def build_schema(settings: GraphQLSettings | None = None) -> strawberry.federation.Schema:
    settings = settings or GraphQLSettings()
    # Factories, not instances: Strawberry builds fresh extensions for every request.
    extensions: list[Any] = [
        ErrorCodes,
        lambda: QueryDepthLimiter(max_depth=settings.max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
    ]
    return strawberry.federation.Schema(
        query=Query,
        mutation=Mutation,
        types=[Image, MetadefNamespace],
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALAR_MAP),
    )


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


def graphql_app(settings: GraphQLSettings) -> GlimpseGraphQL:
    return GlimpseGraphQL(
        build_schema(settings), graphql_ide="graphiql" if settings.graphiql else None
    )
