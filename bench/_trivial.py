"""The stack's limit: a trivial ASGI app that answers every request with 1 KB of JSON.

Served by the same server (granian, ASGI interface) with the same worker count as Glimpse in
``bench_http.py``, it measures what the server and the client machinery cost before any of our
code runs. Every request-path figure is given as a fraction of this one.
"""

from __future__ import annotations

import json
from typing import Any

BODY = json.dumps({"id": "0" * 36, "padding": "x" * 960}).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
