"""GraphQL over HTTP (the GraphQL-over-HTTP specification) for ``/graphql``.

Strawberry's view answers 200 for everything and ignores ``Accept``; the specification asks
for more, and gateways and clients rely on it:

- ``Accept`` picks the response type: ``application/graphql-response+json`` when the client
  lists it, ``application/json`` for ``application/json``, ``*/*`` or no header, else 406;
- GET runs queries only (a mutation is 405 with ``Allow: POST``); POST needs an
  ``application/json`` body (else 415); malformed bodies and parameters are 400;
- with ``application/graphql-response+json``, a request that fails before execution (parse,
  validation, variable coercion, persisted-query refusal) is a 4xx without ``data``; with
  ``application/json`` it stays 200 as legacy clients expect;
- persisted queries (``extensions.persistedQuery``) are resolved here, before execution.

Everything about executing a document stays in the strawberry schema (extensions, masking,
tracing), so this module only translates between HTTP and ``schema.execute``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from glimpse.core.config import GraphQLSettings
from glimpse.core.errors import InvalidInput, PayloadTooLarge
from glimpse.edge import jsonwire
from glimpse.edge.bodies import read_body
from glimpse.edge.headers import content_security_policy, inline_hashes
from glimpse.schema.context import GraphQLContext
from glimpse.schema.documents import DocumentRefused, check_text
from glimpse.schema.executor import Executor
from glimpse.schema.persisted import PersistedQueries, PersistedQueryError

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
GET_OPS = frozenset({OperationType.QUERY})
POST_OPS = frozenset({OperationType.QUERY, OperationType.MUTATION})


class RequestError(Exception):
    """A request the server refuses before execution: (status, message, extra headers)."""

    def __init__(
        self, status: int, message: str, code: str = "BAD_REQUEST", headers: Any = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.headers: dict[str, str] = headers or {}


def negotiate(accept: str | None) -> str | None:
    """The response media type for an ``Accept`` header, or ``None`` (406).

    Highest q wins; on a tie ``application/graphql-response+json`` is preferred, because a
    client that names it understands the status codes that come with it.
    """
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int] = (0.0, 0)
    chosen: str | None = None
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        q = 1.0
        for p in params:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        kind = _kind(media)
        if kind is None or q <= 0:
            continue
        rank = (q, 1 if kind == GRAPHQL_RESPONSE else 0)
        if rank > best:
            best, chosen = rank, kind
    return chosen


def _kind(media: str) -> str | None:
    if media == GRAPHQL_RESPONSE:
        return GRAPHQL_RESPONSE
    if media in (JSON, "*/*", "application/*"):
        return JSON
    return None


def _dumps(body: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(body)
    except TypeError:  # a value orjson does not know (JSON scalar with odd content)
        return json.dumps(body, default=str, ensure_ascii=False).encode()


def _response(body: dict[str, Any], status: int, media: str, headers: Any = None) -> Response:
    return Response(
        _dumps(body), status_code=status, media_type=f"{media}; charset=utf-8", headers=headers
    )


class GraphQLHTTP:
    """The ``/graphql`` endpoint as a plain ASGI app."""

    def __init__(
        self,
        schema: Any,
        settings: GraphQLSettings,
        websocket_app: Any = None,
        executor: Executor | None = None,
    ) -> None:
        self.schema, self.settings, self.executor = schema, settings, executor
        self.persisted = PersistedQueries(settings)
        self.websocket_app = websocket_app
        self.ide_html = get_graphql_ide_html(graphql_ide="graphiql") if settings.graphiql else ""
        self.ide_headers = {"Content-Security-Policy": ide_policy(self.ide_html)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and self.websocket_app is not None:
            await self.websocket_app(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return _response(
                {"errors": [{"message": "GraphQL supports GET and POST only"}]},
                405,
                JSON,
                {"Allow": "GET, POST"},
            )
        if self._wants_ide(request):
            return HTMLResponse(self.ide_html, headers=self.ide_headers)
        media = negotiate(request.headers.get("accept"))
        if media is None:
            return _response(
                {"errors": [{"message": f"Acceptable types: {GRAPHQL_RESPONSE}, {JSON}"}]},
                406,
                JSON,
            )
        try:
            params = await self._params(request)
            return await self._execute(request, media, params)
        except RequestError as exc:
            body = {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]}
            return _response(body, exc.status, media, exc.headers)

    def _wants_ide(self, request: Request) -> bool:
        if not self.ide_html or request.method != "GET" or "query" in request.query_params:
            return False
        return "text/html" in request.headers.get("accept", "")

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":
            qp = request.query_params
            params: dict[str, Any] = {k: qp.get(k) for k in ("query", "operationName")}
            for k in ("variables", "extensions"):
                raw = qp.get(k)
                params[k] = _json_param(k, raw) if raw else None
        else:
            params = await self._post_body(request)
        _check_types(params)
        return params

    async def _post_body(self, request: Request) -> dict[str, Any]:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != JSON:
            raise RequestError(
                415, "POST bodies must be application/json", "UNSUPPORTED_MEDIA_TYPE"
            )
        try:
            raw = await read_body(request, self.settings_max_body(request))
            if not raw.strip():
                raise RequestError(400, "The request body is empty")
            data = jsonwire.loads(raw)
        except PayloadTooLarge as exc:
            raise RequestError(413, exc.message, "PAYLOAD_TOO_LARGE") from exc
        except InvalidInput as exc:
            raise RequestError(400, exc.message) from exc
        if not isinstance(data, dict):
            raise RequestError(400, "The body must be a JSON object (batching is not supported)")
        return data

    @staticmethod
    def settings_max_body(request: Request) -> int:
        deps = getattr(request.app.state, "deps", None) if "app" in request.scope else None
        return deps.settings.max_json_body if deps is not None else 1024 * 1024

    def admit(self, query: str | None, extensions: dict[str, Any] | None) -> str:
        """The document to run: persisted queries resolved (and ``persisted_only``
        enforced), sizes capped before anything parses it. The one gate of HTTP and
        WebSocket operations; raises :class:`RequestError` or
        :class:`PersistedQueryError`."""
        try:
            if query is not None:
                check_text(query, self.settings.max_query_bytes)
            resolved = self.persisted.resolve(query, extensions)
            if resolved is None:
                raise RequestError(400, "No GraphQL query found in the request", "BAD_REQUEST")
            check_text(resolved, self.settings.max_query_bytes)
        except DocumentRefused as exc:
            status = 413 if exc.code == "QUERY_TOO_LARGE" else 400
            raise RequestError(status, exc.message, exc.code) from exc
        return resolved

    def admit_websocket(self, payload: dict[str, Any]) -> str | dict[str, Any]:
        """:meth:`admit` for a ``subscribe`` payload: the document, or the error to send."""
        try:
            _check_types(payload)
            return self.admit(payload.get("query"), payload.get("extensions"))
        except (RequestError, PersistedQueryError) as exc:
            return {"message": exc.message, "extensions": {"code": exc.code}}

    async def _execute(self, request: Request, media: str, params: dict[str, Any]) -> Response:
        try:
            query = self.admit(params.get("query"), params.get("extensions"))
        except PersistedQueryError as exc:
            status = exc.status if media == JSON else 400
            raise RequestError(status, exc.message, exc.code) from exc
        allowed = GET_OPS if request.method == "GET" else POST_OPS
        try:
            result = await self._run(request, query, params, allowed)
        except InvalidOperationTypeError as exc:
            if request.method == "GET":
                raise RequestError(
                    405, "Mutations need POST", "METHOD_NOT_ALLOWED", {"Allow": "POST"}
                ) from exc
            raise RequestError(400, "Subscriptions are served over WebSocket only") from exc
        except CannotGetOperationTypeError as exc:
            raise RequestError(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise RequestError(400, "No GraphQL query found in the request") from exc
        return self._result(result, media)

    async def _run(
        self, request: Request, query: str, params: dict[str, Any], allowed: frozenset[Any]
    ) -> Any:
        """Our executor (glimpse.schema.executor), or strawberry's when it needs extensions
        per request (tracing)."""
        if self.executor is not None:
            return await self.executor.execute(
                query,
                variables=params.get("variables"),
                context=self._context(request),
                operation_name=params.get("operationName"),
                allowed=allowed,
                request_id=request.scope["glimpse.request_id"],
                extensions=params.get("extensions"),
            )
        return await self.schema.execute(
            query,
            variable_values=params.get("variables"),
            context_value=self._context(request),
            operation_name=params.get("operationName"),
            allowed_operation_types=allowed,
            operation_extensions=params.get("extensions"),
        )

    def _result(self, result: Any, media: str) -> Response:
        errors = [_format_error(e) for e in result.errors or ()]
        before_execution = isinstance(result, PreExecutionError) or (
            result.data is None and bool(result.errors) and all(not e.path for e in result.errors)
        )
        body: dict[str, Any] = {}
        if not before_execution:
            body["data"] = result.data
        if errors:
            body["errors"] = errors
        if result.extensions:
            body["extensions"] = result.extensions
        if before_execution and media == JSON:
            body.setdefault("data", None)
        status = 400 if before_execution and media == GRAPHQL_RESPONSE else 200
        return _response(body, status, media)

    def _context(self, request: Request) -> GraphQLContext:
        scope = request.scope
        return GraphQLContext(
            deps=request.app.state.deps,
            request_ctx=scope["glimpse.ctx"],
            auth_error=scope.get("glimpse.auth_error"),
            request=request,
        )


IDE_ASSETS = "https://unpkg.com"


def ide_policy(html: str) -> str:
    """GraphiQL's page: its pinned assets (with subresource integrity) from the CDN it names,
    its own inline script and style by hash, nothing else; never framed."""
    return content_security_policy(
        script_src=(IDE_ASSETS, *inline_hashes(html, "script")),
        style_src=(IDE_ASSETS, *inline_hashes(html, "style")),
        font_src=(IDE_ASSETS, "data:"),
        img_src=(IDE_ASSETS,),
    )


def _format_error(error: GraphQLError) -> dict[str, Any]:
    out: dict[str, Any] = error.formatted  # type: ignore[assignment]
    return out


def _json_param(name: str, raw: str) -> Any:
    try:
        return jsonwire.loads(raw, what=f"the {name} parameter")
    except InvalidInput as exc:
        raise RequestError(400, exc.message) from exc


def _check_types(params: dict[str, Any]) -> None:
    """Parameters of the wrong JSON type are a 400 (GraphQL-over-HTTP, request parameters)."""
    for name in ("query", "operationName"):
        if params.get(name) is not None and not isinstance(params[name], str):
            raise RequestError(400, f"The {name} parameter must be a string")
    for name in ("variables", "extensions"):
        if params.get(name) is not None and not isinstance(params[name], dict):
            raise RequestError(400, f"The {name} parameter must be a JSON object")
