"""Composition root: settings -> database, stores, policy -> the ASGI application.

Mounts ``/graphql`` (GraphiQL on GET), the Glance ``/v2`` REST surface, ``/ui`` and
``/healthz``. The lifespan opens the database and stores and starts the in-process task
runner when configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from glimpse.core.config import Settings, load_settings
from glimpse.core.db import Database
from glimpse.core.errors import GlimpseError
from glimpse.edge.bodies import BodyLimitMiddleware
from glimpse.edge.framing import RequestHeadMiddleware
from glimpse.edge.headers import SecurityHeadersMiddleware
from glimpse.middleware import RequestContextMiddleware
from glimpse.policy.identity import TokenRouter, Verifier, issued_by
from glimpse.policy.keystone import KeystoneSession, KeystoneVerifier
from glimpse.policy.rules import Policy
from glimpse.policy.token_cache import CachingVerifier
from glimpse.policy.tokens import TokenVerifier
from glimpse.resolvers import accounts, quotas
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.limits import KeystoneLimits
from glimpse.resolvers.prefetch import prefetcher
from glimpse.rest_compat import routes as rest_routes
from glimpse.rest_compat.errors import handle_glimpse_error, handle_unexpected
from glimpse.schema.root import graphql_app
from glimpse.stores.registry import build_stores
from glimpse.web import download as web_download

log = logging.getLogger(__name__)
WEB_STATIC = Path(__file__).parent / "web" / "static"


def build_deps(settings: Settings) -> Deps:
    """Everything operations need; shared by the server, the worker and the CLI."""
    extras: dict[str, object] = {"usage": quotas.usage}
    if settings.keystone.auth_url and settings.keystone.limits:
        # Unified limits: read with a system-scoped token, as oslo.limit does.
        session = KeystoneSession(settings.keystone, system_scope=True)
        extras["limits"] = KeystoneLimits(session, ttl=settings.keystone.limits_cache_seconds)
    return Deps(
        settings=settings,
        db=Database(settings.effective_database_url),
        stores=build_stores(settings),
        policy=Policy(settings.auth.policy_profile, settings.auth.policy_overrides),
        # /v2/info/usage reports what resolvers.quotas enforces (stored and staged bytes).
        extras=extras,
    )


def build_verifier(settings: Settings) -> Verifier:
    """Glimpse's JWT verifier, routed together with Keystone when ``keystone.auth_url``
    is set (tokens that are not ours are validated there)."""
    jwt_verifier = TokenVerifier(settings)
    # Verified tokens are remembered until they expire (glimpse.policy.token_cache): most
    # requests carry a token seen before. Keystone's verifier keeps its own cache, whose TTL
    # bounds how long a revoked token stays accepted.
    ours = CachingVerifier(jwt_verifier, leeway=settings.auth.leeway_seconds)
    if not settings.keystone.auth_url:
        return ours
    keystone = KeystoneVerifier(KeystoneSession(settings.keystone))
    return TokenRouter(ours, keystone, issued_by(settings.auth.issuer, jwt_verifier.algorithms))


async def _close(*services: object) -> None:
    """Close the HTTP clients of optional services (Keystone sessions)."""
    for service in services:
        closer = getattr(service, "aclose", None)
        if closer is not None:
            await closer()


STATISTICS_PERIOD_SECONDS = 600.0


@contextlib.asynccontextmanager
async def planner_statistics(deps: Deps) -> AsyncIterator[None]:
    """Keep SQLite's planner statistics fresh: at start, then every ten minutes."""

    async def loop() -> None:
        while True:
            try:
                await deps.db.refresh_statistics()
            except Exception:  # a busy database is fine: next round
                log.warning("could not refresh planner statistics", exc_info=True)
            await asyncio.sleep(STATISTICS_PERIOD_SECONDS)

    task = asyncio.create_task(loop()) if deps.db.is_sqlite else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def healthz(request: Request) -> Response:
    deps: Deps = request.app.state.deps
    async with deps.db.read() as s:
        await s.connection()
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None) -> Starlette:
    """The whole service as one ASGI app."""
    settings = settings or load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    deps = build_deps(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for hook in app.state.startup_hooks:
                await stack.enter_async_context(hook(deps))
            yield
        await _close(app.state.verifier, deps.extras.get("limits"))
        await deps.stores.close()
        await deps.db.dispose()

    gql = graphql_app(settings.graphql, settings.page_default)
    # Starlette tries routes in order: the busiest come first.
    routes: list[BaseRoute] = [
        Route("/graphql", gql),  # GraphQL over HTTP: it answers other methods with 405
        WebSocketRoute("/graphql", gql),  # subscriptions (graphql-transport-ws)
        *rest_routes.routes(),
        Route("/healthz", healthz),
        Route("/ui", lambda r: RedirectResponse("/ui/")),
        *web_download.routes(),
    ]
    if WEB_STATIC.is_dir():
        routes.append(Mount("/ui", StaticFiles(directory=WEB_STATIC, html=True), name="ui"))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={GlimpseError: handle_glimpse_error, Exception: handle_unexpected},
    )
    # Glance answers 404 to a path with a trailing slash (``GET /v2/images/``); Starlette
    # would redirect it to the path without one.
    app.router.redirect_slashes = False
    app.state.deps = deps
    app.state.startup_hooks = [prefetcher, planner_statistics]
    if settings.tasks.run_in_process:
        from glimpse.tasks.runner import runner_hook

        app.state.startup_hooks.append(runner_hook)
    app.state.verifier = build_verifier(settings)  # also for WebSocket connection_init auth
    app.add_middleware(SecurityHeadersMiddleware)
    # Inner to the request context (which rewrites /v2.N paths), so caps see final paths.
    app.add_middleware(
        BodyLimitMiddleware,
        json_limit=settings.max_json_body,
        data_limit=settings.max_image_size,
    )
    app.add_middleware(
        RequestContextMiddleware,
        verifier=app.state.verifier,
        trusted_proxy=settings.auth.trusted_proxy,
        minor_versions=rest_routes.advertised_minors(settings),
        account_check=partial(accounts.account_token_valid, deps),
    )
    app.add_middleware(RequestHeadMiddleware)  # outermost: refused heads go no further
    return app


def app_factory() -> Starlette:
    """Entry point for ASGI servers started by ``glimpse serve`` (reads the environment)."""
    logging.basicConfig(level=logging.INFO)
    return create_app()
