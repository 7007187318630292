"""Security headers on every response.

- ``X-Content-Type-Options: nosniff`` everywhere: a JSON body or an image download is never
  reinterpreted as HTML or script by a browser;
- ``Referrer-Policy: no-referrer`` everywhere: URLs here can carry image ids and, for
  download links, a signature;
- on HTML (the console, GraphiQL, the REST docs page, HTML error bodies) a Content Security
  Policy that allows scripts and styles from this origin only, no plugins, no ``<base>``,
  and no framing (``frame-ancestors 'none'``, plus ``X-Frame-Options: DENY`` for browsers
  that predate it). A page with inline code or third-party assets sets its own policy,
  built with :func:`content_security_policy` and :func:`inline_hashes`, and the
  middleware leaves it alone.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'none'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "manifest-src": ("'self'",),
    "form-action": ("'self'",),
    "base-uri": ("'none'",),
    "object-src": ("'none'",),
    "frame-ancestors": ("'none'",),
}


def content_security_policy(**extra: tuple[str, ...]) -> str:
    """:data:`BASE_POLICY` with more sources per directive (``script_src=(...)``)."""
    merged = dict(BASE_POLICY)
    for name, sources in extra.items():
        directive = name.replace("_", "-")
        merged[directive] = (*merged.get(directive, ()), *sources)
    return "; ".join(f"{k} {' '.join(v)}" for k, v in merged.items())


def inline_hashes(html: str, tag: str) -> tuple[str, ...]:
    """CSP hash sources of the inline ``<script>`` or ``<style>`` blocks of ``html``."""
    pattern = re.compile(rf"<{tag}(?:\s[^>]*)?>(.*?)</{tag}>", re.DOTALL | re.IGNORECASE)
    out = []
    for m in pattern.finditer(html):
        if tag == "script" and "src=" in m.group(0).split(">", 1)[0]:
            continue
        digest = hashlib.sha256(m.group(1).encode()).digest()
        out.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    return tuple(out)


DEFAULT_POLICY = content_security_policy()


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "no-referrer")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("content-security-policy", DEFAULT_POLICY)
                    headers.setdefault("x-frame-options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
