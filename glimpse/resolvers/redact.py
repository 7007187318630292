"""What may be shown of secrets-bearing values once they leave the request that sent them.

Image events are readable by everyone who may see the image (public images: everyone), so
they never store a web-download URI as given - it may carry credentials (``user:pass@``)
or a presigned query string - nor the details of a failure (tool output, server paths):
those are logged with the request id for operators instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from glimpse.core.errors import GlimpseError

log = logging.getLogger("glimpse.failures")


def uri(value: object) -> str:
    """``scheme://host[:port]/path`` of a URL: no user info, query string or fragment."""
    if not isinstance(value, str):
        return "<redacted>"
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "<redacted>"
    if not parts.scheme or not host:
        return "<redacted>"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


URI_KEYS = frozenset({"uri", "import_from", "url"})


def uris(value: Any) -> Any:
    """A copy of a JSON-like value with every URI (under a key in :data:`URI_KEYS`, at any
    depth) reduced by :func:`uri`: what an event may show of a task's input."""
    if isinstance(value, dict):
        return {
            k: uri(v) if k in URI_KEYS and isinstance(v, str) else uris(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [uris(v) for v in value]
    return value


def reason(exc: BaseException, request_id: str | None) -> str:
    """A failure as its reader may see it; unexpected errors say only where to look."""
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled (client disconnected or server stopping)"
    if isinstance(exc, GlimpseError):
        return exc.message[:500]
    return f"internal error (request {request_id})"


def log_failure(what: str, exc: BaseException, request_id: str | None) -> None:
    """Log the details :func:`reason` leaves out, findable by the request id."""
    if isinstance(exc, GlimpseError):
        if exc.internal:
            log.warning("%s failed (request %s): %s [%s]", what, request_id, exc, exc.internal)
    elif not isinstance(exc, asyncio.CancelledError):
        log.error("%s failed (request %s)", what, request_id, exc_info=exc)
