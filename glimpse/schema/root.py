"""The federated schema (Apollo Federation v2 subgraph) and its ASGI app."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.extensions.tracing.apollo_federation import ApolloFederationTracingExtension
from strawberry.schema.config import StrawberryConfig

from glimpse.core.config import GraphQLSettings
from glimpse.schema.accounts import AccountMutation
from glimpse.schema.cost import CostLimiter, StaticRules
from glimpse.schema.documents import CachedDocuments, DocumentCache, PlainTextLiterals
from glimpse.schema.errors import ErrorCodes
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
from glimpse.schema.websocket import GlimpseGraphQL


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
    ones with their request id, so the default logging is switched off."""

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
        PlainTextLiterals,
    )
    documents = DocumentCache(settings.cache_query_bytes, settings.cache_total_bytes)
    extensions: list[Any] = [
        ErrorCodes,
        partial(StaticRules, rules),
        partial(CachedDocuments, documents, settings.max_tokens),
        partial(CostLimiter, max_cost=settings.max_cost, default_page=page_default),
    ]
    if settings.tracing:
        extensions.append(ApolloFederationTracingExtension)
    return GlimpseSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Image, MetadefNamespace, Task],
        extensions=extensions,
        execution_context_class=FastLeafExecutionContext,
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALAR_MAP),
    )


def graphql_app(settings: GraphQLSettings, page_default: int = 25) -> GraphQLHTTP:
    """``/graphql``: our GraphQL-over-HTTP endpoint; WebSockets go to strawberry's app."""
    schema = build_schema(settings, page_default)
    http = GraphQLHTTP(schema, settings)
    http.websocket_app = GlimpseGraphQL(schema, settings, gate=http)
    return http
