"""Absolute URLs of this service (``Location`` headers, version links), never from ``Host``.

The ``Host`` header is whatever the client wrote: building links from it lets anyone who
can put a response in a shared cache, or a link in front of another user, point that link
at a host of their choosing. So the base is, in order:

1. ``public_url`` when configured: what deployments behind a proxy or a DNS name set;
2. otherwise the address of the socket the request arrived on (ASGI ``scope["server"]``,
   filled in by the server from the connection, not from a header) and the connection's
   scheme. For ``glimpse serve`` on its default ``127.0.0.1:9292`` that is exactly the
   address clients use; on a wildcard bind it is the interface the client reached.
"""

from __future__ import annotations

from starlette.types import Scope

_DEFAULT_PORTS = {"http": 80, "https": 443}


def base_url(scope: Scope, public_url: str) -> str:
    """The service root without a trailing slash (see the module docstring)."""
    if public_url:
        return public_url.rstrip("/")
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme"))
    scheme = scheme if scheme in _DEFAULT_PORTS else "http"
    server = scope.get("server") or ("127.0.0.1", None)
    host, port = str(server[0]), server[1]
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
