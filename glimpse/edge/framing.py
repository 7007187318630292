"""Request heads the HTTP server lets through but this service refuses.

granian (hyper) already refuses malformed request lines, duplicate or negative
``Content-Length``, more than 100 headers, and bodies that end early. It accepts, and this
middleware answers before the application sees them:

- an HTTP/1.1 request without ``Host`` (400, RFC 9112 §3.2 requires it; granian hands
  the application an empty ``host`` then);
- ``Content-Length`` together with ``Transfer-Encoding`` (400), where the server passes
  both on: two framings of one body are how requests are smuggled past a proxy that picks
  the other one. (granian itself follows RFC 9112 §6.3 before we see the request: the
  chunked framing wins and ``Content-Length`` is dropped, so the body is framed once);
- a ``Transfer-Encoding`` other than plain ``chunked`` (400): no other coding is supported;
- request headers larger than :data:`MAX_HEADER_BYTES` in all (431): granian's buffer
  takes up to 400 KiB of head, far more than any client of this service sends;
- an encoded slash (``%2F``) in the path (400): routing sees the decoded path, where it
  would act as a separator (``/v2/images/{id}%2Ffile`` reaching the download route); no
  id, tag, member or name of this API contains a slash.

The answer is plain text with ``Connection: close``; the body, if any, is never read.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_HEADER_BYTES = 64 * 1024


def refusal(scope: Scope) -> tuple[int, str] | None:
    """(status, reason) when the request head is refused, else ``None``."""
    names: dict[bytes, list[bytes]] = {}
    size = 0
    for name, value in scope.get("headers") or ():
        names.setdefault(name, []).append(value)
        size += len(name) + len(value) + 4
    if size > MAX_HEADER_BYTES:
        return 431, f"Request headers larger than {MAX_HEADER_BYTES} bytes"
    if scope.get("http_version") == "1.1" and not any(h.strip() for h in names.get(b"host", ())):
        return 400, "HTTP/1.1 requests need a Host header"
    if b"%2f" in (scope.get("raw_path") or b"").lower():
        return 400, "Encoded slashes (%2F) are not accepted in paths"
    codings = names.get(b"transfer-encoding")
    if codings is not None:
        if b"content-length" in names:
            return 400, "Content-Length and Transfer-Encoding together are refused"
        if [c.strip().lower() for c in b",".join(codings).split(b",")] != [b"chunked"]:
            return 400, "Only Transfer-Encoding: chunked is supported"
    return None


class RequestHeadMiddleware:
    """Refuses the request heads listed in the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = refusal(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        status, reason = found
        body = f"{status} {reason}\n".encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
