"""The federated schema (Apollo Federation v2 subgraph) and its ASGI app."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry
from graphql import ASTValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.extensions.tracing.apollo_federation import ApolloFederationTracingExtension
from strawberry.federation.schema import FederationAny
from strawberry.schema.config import StrawberryConfig
from strawberry.types.info import Info as StrawberryInfo

from glimpse.core.config import GraphQLSettings
from glimpse.core.errors import GlimpseError, InvalidInput
from glimpse.core.values import check_text
from glimpse.schema.accounts import AccountMutation
from glimpse.schema.cost import CostLimiter, StaticRules
from glimpse.schema.documents import CachedDocuments, DocumentCache, PlainTextLiterals
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
from glimpse.schema.websocket import GlimpseGraphQL


@strawberry.type(description="Read operations of the Glimpse image service.")
class Query(ImageQuery, MetadefQuery, StoreQuery, TaskQueryMixin):
    pass


@strawberry.type(description="Write operations of the Glimpse image service.")
class Mutation(
    ImageMutation, LinkMutation, MetadefMutation, StoreMutation, TaskMutationMixin, AccountMutation
):
    pass


# Federation entities and their key fields (``@key(fields: ...)``): the only shape a
# representation may have.
ENTITY_KEYS: dict[str, tuple[str, ...]] = {
    "Image": ("id",),
    "Task": ("id",),
    "MetadefNamespace": ("namespace",),
}


def clean_representation(rep: Any) -> dict[str, Any]:
    """A representation reduced to ``__typename`` and its type's key fields, or
    InvalidInput: an unknown type, a missing or non-string key was an internal error in
    strawberry's entity dispatch (a KeyError or a bad keyword argument)."""
    if not isinstance(rep, dict):
        raise InvalidInput("An entity representation must be an object")
    name = rep.get("__typename")
    keys = ENTITY_KEYS.get(name) if isinstance(name, str) else None
    if keys is None:
        raise InvalidInput(f"Unknown entity type in representation: {name!r}")
    clean: dict[str, Any] = {"__typename": name}
    for key in keys:
        value = rep.get(key)
        if not isinstance(value, str):
            raise InvalidInput(f"{name} representations need the key '{key}' as a string")
        check_text(value, what="an entity key")
        clean[key] = value
    return clean


class GlimpseSchema(strawberry.federation.Schema):
    """Strawberry logs every error, client mistakes included; ErrorCodes logs the unexpected
    ones with their request id, so the default logging is switched off. ``static_rules`` are
    the validation rules added to graphql's own (depth, aliases, introspection)."""

    static_rules: tuple[type[ASTValidationRule], ...] = ()

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        return None

    def entities_resolver(
        self, info: StrawberryInfo, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """Each representation checked (:func:`clean_representation`) before strawberry
        dispatches it; a bad one is an INVALID_INPUT error at its own index."""
        # (strawberry builds the _entities field from this signature: keep its types)
        results: list[Any] = []
        for rep in representations:
            try:
                clean = clean_representation(rep)
            except GlimpseError as exc:
                results.append(exc)
                continue
            results.extend(super().entities_resolver(info, [FederationAny(clean)]))
        return results


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
            max_tokens=settings.max_tokens,
            cache_entry_bytes=settings.cache_query_bytes,
            cache_total_bytes=settings.cache_total_bytes,
        )
    http = GraphQLHTTP(schema, settings, executor=executor)
    http.websocket_app = GlimpseGraphQL(schema, settings, gate=http)
    return http
