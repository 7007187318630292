"""Request bodies and WebSocket messages, capped while the bytes arrive.

:class:`BodyLimitMiddleware` wraps every connection's ``receive``:

- HTTP: a declared ``Content-Length`` over the route's cap is refused before one byte of the
  body is read; a chunked body is counted as it streams and refused at the first chunk past
  the cap. The cap is :attr:`Settings.max_json_body` for every route but the two that take
  image data (``PUT /v2/images/{id}/file`` and ``/stage``), which have
  :attr:`Settings.max_image_size` and their own streaming checks. The refusal is a
  :class:`~glimpse.core.errors.PayloadTooLarge` raised from ``receive``, so each edge
  answers it in its own format (a Glance error body, a GraphQL error), with 413.
- A body that ends early (the client closed its side before the declared length or before
  the last chunk) raises :class:`~glimpse.core.errors.InvalidInput` instead of handing a
  truncated document to a parser: a 400 if anyone is still listening, and nothing created.
- WebSocket: a message longer than the JSON cap closes the connection with 1009 (message
  too big); a message that is not strict JSON (see :mod:`glimpse.edge.jsonwire`) closes it
  with 4400, as graphql-transport-ws does for malformed messages. The application then sees
  a disconnect. (The server itself buffers one message before the application sees it;
  granian's own ceiling for that is 64 MiB, which no setting here can lower.)

:func:`read_body` is the reader both JSON edges use on top of it, so the cap also holds for
an application mounted without the middleware.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from glimpse.core.errors import InvalidInput, PayloadTooLarge
from glimpse.edge import jsonwire

DATA_ROUTE = re.compile(r"^/v2/images/[^/]+/(file|stage)$")
WS_TOO_BIG = 1009
WS_BAD_MESSAGE = 4400


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body larger than {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused past ``limit`` bytes while it streams (413) or when the
    client stops sending before its end (400)."""
    declared = declared_length(request.scope)
    if declared is not None and declared > limit:
        raise too_large(limit)
    raw = bytearray()
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise too_large(limit)
    except ClientDisconnect as exc:
        raise InvalidInput("The request body ended before it was complete") from exc
    return bytes(raw)


def declared_length(scope: Scope) -> int | None:
    """``Content-Length`` as a number (``None`` when absent or not a plain number: the
    server refuses such framing before we are called)."""
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"transfer-encoding" and b"chunked" in value.lower():
            return True
    return bool(declared_length(scope))


class BodyLimitMiddleware:
    """Caps HTTP request bodies and WebSocket messages (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, json_limit: int, data_limit: int) -> None:
        self.app, self.json_limit, self.data_limit = app, json_limit, data_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.app(scope, _HttpBody(scope, receive, self._limit(scope)), send)
        elif scope["type"] == "websocket":
            ws = _WebSocketMessages(receive, send, self.json_limit)
            await self.app(scope, ws.receive, ws.send)
        else:
            await self.app(scope, receive, send)

    def _limit(self, scope: Scope) -> int:
        if scope.get("method") == "PUT" and DATA_ROUTE.match(scope.get("path", "")):
            return self.data_limit
        return self.json_limit


class _HttpBody:
    """A ``receive`` that counts body bytes and refuses past the cap or on early end."""

    def __init__(self, scope: Scope, receive: Receive, limit: int) -> None:
        self.inner, self.limit = receive, limit
        self.declared = declared_length(scope)
        self.expects_body = has_body(scope)
        self.seen = 0
        self.done = False

    async def __call__(self) -> Message:
        if not self.done and self.declared is not None and self.declared > self.limit:
            raise too_large(self.limit)
        message = await self.inner()
        kind = message["type"]
        if kind == "http.request" and not self.done:
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                raise too_large(self.limit)
            self.done = not message.get("more_body", False)
        elif kind == "http.disconnect" and not self.done and self.expects_body:
            self.done = True
            raise InvalidInput("The request body ended before it was complete")
        return message


class _WebSocketMessages:
    """``receive``/``send`` of one WebSocket: oversized or malformed messages close it."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self.inner_receive, self.inner_send, self.limit = receive, send, limit
        self.closed = False

    async def receive(self) -> Message:
        message = await self.inner_receive()
        if message["type"] != "websocket.receive" or self.closed:
            return message
        payload: Any = message.get("text")
        if payload is None:
            payload = message.get("bytes") or b""
        if len(payload) > self.limit:  # characters of text, bytes of binary messages
            return await self._close(WS_TOO_BIG, f"Message larger than {self.limit} bytes")
        try:
            jsonwire.loads(payload, what="WebSocket message")
        except InvalidInput as exc:
            return await self._close(WS_BAD_MESSAGE, exc.message[:120])
        return message

    async def send(self, message: Message) -> None:
        if self.closed and message["type"] in ("websocket.send", "websocket.close"):
            return  # the connection is already closed: the application learns it on receive
        await self.inner_send(message)

    async def _close(self, code: int, reason: str) -> Message:
        self.closed = True
        await self.inner_send({"type": "websocket.close", "code": code, "reason": reason})
        return {"type": "websocket.disconnect", "code": code}
