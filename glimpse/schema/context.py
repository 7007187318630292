"""The GraphQL request context: the caller, the shared dependencies and per-request loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as _Info

from glimpse.core.context import RequestContext
from glimpse.core.errors import GlimpseError, Unauthenticated
from glimpse.resolvers.deps import Deps
from glimpse.schema.loaders import Loaders


@dataclass
class GraphQLContext:
    deps: Deps
    request_ctx: RequestContext
    auth_error: GlimpseError | None = None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None  # WebSocket connection_init payload
    _loaders: Loaders | None = field(default=None, init=False, repr=False)

    @property
    def loaders(self) -> Loaders:
        """The DataLoaders of the current caller. A WebSocket learns its caller only at
        ``connection_init``, after the context exists: loaders made for an earlier caller
        are never reused for another."""
        if self._loaders is None or self._loaders.ctx is not self.request_ctx:
            self._loaders = Loaders(self.deps, self.request_ctx)
        return self._loaders

    def caller(self) -> RequestContext:
        """The authenticated caller; anonymous or bad credentials fail here, per field."""
        if self.auth_error is not None:
            raise self.auth_error
        if not self.request_ctx.principal.authenticated:
            raise Unauthenticated("Authentication required: send a Bearer token")
        return self.request_ctx


Info = _Info[GraphQLContext, None]
